/*
 * Optional daemon components (knowledge base handlers, repair stage, watcher) register themselves
 * here by import, so the core server does not depend on them.
 */
export {};
