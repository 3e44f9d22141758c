import type { BenchSpec } from "../types.js";
import { browser } from "./browser.js";
import { conns } from "./conns.js";
import { crossover } from "./crossover.js";
import { echo } from "./echo.js";
import { gateway } from "./gateway.js";
import { link } from "./link.js";
import { mask } from "./mask.js";
import { mqtt } from "./mqtt.js";
import { parse } from "./parse.js";
import { soak } from "./soak.js";
import { utf8 } from "./utf8.js";

/** Every bench, in the order they run. */
export const benches: readonly BenchSpec[] = [mask, utf8, parse, crossover, echo, conns, mqtt, link, browser, gateway, soak];
