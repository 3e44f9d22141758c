export interface BuiltFile {
  bytes: number;
  gzip: number;
}
/** Builds the dashboard into `outdir` (default dist/dashboard); resolves with each file's size and gzip'd size. */
export function buildDashboard(outdir?: string): Promise<Record<"index.html" | "dashboard.js" | "dashboard.css", BuiltFile>>;
