export * from './grant-machine';
export * from './lifecycle-diagram';
