export * from './health.js';
export * from './metrics-registry.js';
export * from './server.js';
