// What the bridge does differently in Node: its default client id names the host, a store given
// as a path is a FileStore, ports open through serialport, and V8's young generation is kept
// small (heap.ts). The browser build puts ./browser.ts in this file's place.
import { hostname } from "node:os";
import { FileStore } from "../../mqtt/store/file-store.js";
import type { MessageStore } from "../../mqtt/store/store.js";
import { keepYoungGenerationSmall } from "../heap.js";
import { openSystemPort } from "../serial.js";
import type { PortOpener } from "../port.js";

export const platform = {
  defaultClientId: (): string => `edgews-bridge-${hostname()}`,
  /** A store given by name: a FileStore at that path (fsync "always"). */
  openStore: (path: string): Promise<MessageStore> => FileStore.open(path),
  defaultOpenPort: openSystemPort as PortOpener,
  /** Called unless the options say `growYoungGeneration`. */
  limitHeap: keepYoungGenerationSmall,
};
