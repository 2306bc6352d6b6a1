export { main, buildProgram } from './main.js';
export { runMigration, type MigrationParams, type MigrationResult } from './migration.js';
