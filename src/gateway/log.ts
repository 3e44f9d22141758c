// The gateway's structured log (pino): human-readable lines on a terminal, JSON lines otherwise
// (journald, a container's log), written synchronously so that nothing is lost at exit.
import { pino, type Level, type Logger } from "pino";
import pretty from "pino-pretty";

export function createLogger(level: Level | "silent", stream: NodeJS.WritableStream & { isTTY?: boolean; fd?: number } = process.stdout): Logger {
  if (stream.isTTY) return pino({ level }, pretty({ colorize: true, sync: true, ignore: "pid,hostname", translateTime: "SYS:HH:MM:ss.l", destination: stream }));
  return pino({ level, base: undefined }, stream === process.stdout ? pino.destination({ fd: 1, sync: true }) : stream);
}
