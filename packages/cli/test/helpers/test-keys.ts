/**
 * The key ring every CLI test runs with: the CLI subprocesses get it as TOKENVAULT_KEYS (unless a test
 * says otherwise), and fixtures written in-process use it too, so the SQLite files the tests make are
 * encrypted like real ones. A fixed test key, meaningless outside these tests.
 */
export const TEST_KEYS = 'test1:dG9rZW52YXVsdC1jbGktdGVzdC1rZXktMzItYnl0ZXM';

/** The store option for fixtures opened in the test process. */
export const TEST_ENCRYPTION = { keys: TEST_KEYS } as const;
