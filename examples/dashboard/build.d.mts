export interface BuiltFile {
  bytes: number;
  gzip: number;
}
/** Builds the dashboard into `outdir` (default dist/dashboard); resolves with each file's size and gzip'd size (chunks as "chunks/<name>"). */
export function buildDashboard(outdir?: string): Promise<Record<string, BuiltFile>>;
