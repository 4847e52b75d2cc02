// Moved to models/io/atomic.ts (every writer of files shares it); kept so existing imports still resolve.
export { writeFileAtomicSync as writeFileAtomic } from '../io/atomic.ts';
