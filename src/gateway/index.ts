// edgews/gateway: the embedded broker, the bridge, /healthz and /metrics in one process, as
// `edgews gateway` runs them (docs/gateway.md).
export { startGateway, type Gateway, type GatewayOptions } from "./gateway.js";
export { checkConfig, readConfigFile, ConfigError, ConfigSchema, ROLES, type GatewayConfig, type Role, type UserConfig } from "./config.js";
export { hashPassword, verifyPassword, permissionsOf, type Permissions } from "./auth.js";
export { createLogger } from "./log.js";
