export * from './verifier.js';
export * from './report.js';
export * from './source-queries.js';
export * from './row-diff.js';
export * from './checksum.js';
export * from './in-flight.js';
export * from './status.js';
export * from './status-page/index.js';
