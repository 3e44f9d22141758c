// aedes-persistence-level ships no types: the part the gateway uses.
declare module "aedes-persistence-level/asyncPersistence.js" {
  export default class AsyncLevelPersistence {
    /** `db`: an abstract-level database (classic-level's ClassicLevel). */
    constructor(db: unknown);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}
