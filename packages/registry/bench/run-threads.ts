/* `pnpm bench:threads`: the workers benchmark alone (bench/threads.ts); same options as `pnpm bench`. */
import { parseBenchArgs } from "@tsmalloc/testkit";
import { benchThreads } from "./threads.ts";

await benchThreads(parseBenchArgs());
