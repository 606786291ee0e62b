export { loadConfig, describeSpec, ConfigError, int, str, bool, port, type ConfigSpec, type ConfigDoc } from './loader';
export * from './specs';
export { renderConfigDoc } from './config-doc';
