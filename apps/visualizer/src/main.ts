import { startApp } from "./app.ts";

startApp(document, location);
