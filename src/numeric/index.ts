/**
 * The numeric core of rliv: gemm (OpenBLAS addon or TypeScript), layers,
 * fused MLP groups, hashed embedding tables, lazy Adam, losses, target
 * updates, checkpoint I/O and the seeded RNG. Everything above this layer
 * imports from here.
 */
export * from './rng.js';
export * from './gemm.js';
export * from './kernels.js';
export * from './param.js';
export * from './init.js';
export * from './linear.js';
export * from './relu.js';
export * from './mlp.js';
export * from './mlp-group.js';
export * from './embedding.js';
export * from './adam.js';
export * from './losses.js';
export * from './soft-update.js';
export * from './params-io.js';
