// What the bridge does differently in a page (the browser build puts this file where
// ./node.ts is imported): a random client id (keep the one it returns to resume a session), a
// store given by name is an IndexedDB database, and ports must be given (webSerialOpener).
import { IndexedDbStore } from "../../mqtt/store/indexeddb-store.js";
import type { MessageStore } from "../../mqtt/store/store.js";
import { BridgeError } from "../errors.js";
import type { PortOpener } from "../port.js";

const noPortOpener: PortOpener = () =>
  Promise.reject(new BridgeError("BRIDGE_BAD_CONFIG", "a page has no serial port paths: pass openPort: webSerialOpener(...) (navigator.serial)"));

export const platform = {
  defaultClientId: (): string => `edgews-bridge-web-${crypto.randomUUID().slice(0, 8)}`,
  /** A store given by name: an IndexedDB database of that name. */
  openStore: (name: string): Promise<MessageStore> => IndexedDbStore.open(name),
  defaultOpenPort: noPortOpener,
  limitHeap: (): void => {},
};
