/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The admin process serves dist/ itself; `npm run dev` proxies the API to a local admin port.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": process.env.RELAY_ADMIN_URL ?? "http://127.0.0.1:3001" } },
  test: { environment: "jsdom", include: ["src/**/*.test.tsx", "src/**/*.test.ts"] },
});
