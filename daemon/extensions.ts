/*
 * Optional daemon components register themselves here by import, so the core server does not
 * depend on them: the knowledge base handlers (kb.*) and the repair stage.
 */
import './handlers/kb.js';
import './repair/stage.js';
import './handlers/generate.js';
