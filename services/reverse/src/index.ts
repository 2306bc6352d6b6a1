export * from './export-model.js';
export * from './export-sqlite.js';
export * from './snapshot-source.js';
export * from './sqlite-applier.js';
export * from './sqlite-target.js';
export * from './table-writer.js';
export * from './fallback.js';
export * from './reverse-stream.js';
