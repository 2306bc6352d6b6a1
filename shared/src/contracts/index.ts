/**
 * Names and layouts more than one service reads: defined here once, so a rename on one
 * side cannot silently turn the other side's read into "nothing there".
 */
export * from './change-event.js';
export * from './schema-record.js';
export * from './meta-tables.js';
export * from './loader-offsets.js';
export * from './extractor-state.js';
export * from './applier-offsets.js';
