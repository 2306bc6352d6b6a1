export * from './extractor.js';
export * from './dispatcher.js';
export * from './reemit.js';
export * from './metrics.js';
