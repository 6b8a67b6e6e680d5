export * from './vault';
export * from './vault-options';
export * from './vault-events';
export * from './grant-info';
