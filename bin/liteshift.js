#!/usr/bin/env node
import { main } from '../cli/dist/main.js';

process.exitCode = await main(process.argv);
