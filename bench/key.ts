/** The admin key of every benchmarked server; every request sends it, as users' requests carry a key. */
export const BENCH_ADMIN_KEY = 'bench-admin-key';
