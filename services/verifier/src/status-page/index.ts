export * from './board.js';
export * from './history.js';
export * from './routes.js';
export * from './state.js';
