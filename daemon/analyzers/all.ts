/*
 * Imports every adapter for its registration side effect. Keep one line per adapter.
 */
import { registerAnalyzer } from './registry.js';
import { banditAnalyzer } from './bandit.js';
import { gccAnalyzer } from './gcc.js';
import { cppcheckAnalyzer } from './cppcheck.js';

registerAnalyzer(banditAnalyzer);
registerAnalyzer(gccAnalyzer);
registerAnalyzer(cppcheckAnalyzer);
