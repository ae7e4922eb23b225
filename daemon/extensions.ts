/*
 * Optional daemon components register themselves here by import, so the core server does not
 * depend on them: the knowledge base handlers (kb.*) and `generate`.
 */
import './handlers/kb.js';
import './handlers/generate.js';
