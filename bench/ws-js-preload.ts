// Preloaded (--import) into ws-js children before anything loads ws: ws 8 validates UTF-8 with
// buffer.isUtf8 whenever Node has it (lib/validation.js), whatever WS_NO_UTF_8_VALIDATE says.
// Without it, and with WS_NO_BUFFER_UTIL=1 and WS_NO_UTF_8_VALIDATE=1 in the environment, ws
// falls back to its pure-JavaScript _unmask and _isValidUTF8: what runs where no addon is built.
import buffer from "node:buffer";

Reflect.deleteProperty(buffer, "isUtf8");
