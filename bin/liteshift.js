#!/usr/bin/env node
import { main } from '../cli/dist/main.js';

// Exit at once: a client still retrying in the background (an unreachable broker) must
// not keep the process alive after the error has been reported.
process.exit(await main(process.argv));
