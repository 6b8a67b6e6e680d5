export * from './grant-machine';
