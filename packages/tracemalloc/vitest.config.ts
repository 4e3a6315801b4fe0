import { tsmallocProject } from "../../scripts/vitest-project.ts";

export default tsmallocProject("@tsmalloc/tracemalloc");
