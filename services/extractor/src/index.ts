export * from './extractor.js';
export * from './dispatcher.js';
