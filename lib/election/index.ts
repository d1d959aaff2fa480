export * from './deadlines.js';
export * from './liveness.js';
export * from './ordering.js';
export * from './reconcile.js';
export * from './strategy.js';
export * from './timing.js';
export * from './types.js';
export * from './versions.js';
