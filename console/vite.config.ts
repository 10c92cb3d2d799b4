import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console is static files the API server serves at `/` (src/http/routes/console.ts); in
// development, `npm run dev:console` proxies the API to a running `npm start`.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { proxy: { "/v1": "http://localhost:8080" } },
});
