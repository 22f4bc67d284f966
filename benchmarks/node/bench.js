// Calls per second of an axios client doing the official Node SDK's per-call work:
// Date header, MD5 of the body, HMAC-SHA1 signature (crypto-js), JSON parse of the answer.
// Usage: node bench.js URL ENDPOINT(invoice|page) CONCURRENCY CALLS REPETITIONS
"use strict";
const http = require("http");
const axios = require("axios");
const CryptoJS = require("crypto-js");

const [url, endpoint, concurrency, calls, repetitions] = process.argv.slice(2);
const INVOICE_ID = "03692121-10b9-40bf-a79f-f9ad1f89f13d";
const path = endpoint === "page" ? "/api/invoices" : `/api/invoices/${INVOICE_ID}`;
const client = axios.create({
  baseURL: url,
  httpAgent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
});
client.interceptors.request.use((config) => {
  const date = new Date().toUTCString();
  const body = config.data ? JSON.stringify(config.data) : "";
  const digest = body ? CryptoJS.MD5(body).toString() : "";
  const message = [config.method.toUpperCase(), digest, "application/json", date, config.url].join("\n");
  const signature = CryptoJS.HmacSHA1(message, "bench").toString(CryptoJS.enc.Base64);
  config.headers["Date"] = date;
  config.headers["Content-Type"] = "application/json";
  config.headers["Authorization"] = `HMAC bench:${signature}`;
  return config;
});

async function measure(n, c) {
  let next = 0;
  const started = process.hrtime.bigint();
  async function worker() {
    while (next < n) {
      next += 1;
      const response = await client.get(path);
      if (!response.data || !response.data.data) throw new Error("no data");
    }
  }
  await Promise.all(Array.from({ length: c }, worker));
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

(async () => {
  for (let i = 0; i < 20; i++) await client.get(path);
  const rates = [];
  for (let i = 0; i < Number(repetitions); i++) rates.push(await measure(Number(calls), Number(concurrency)));
  process.stdout.write(JSON.stringify(rates) + "\n");
})().catch((error) => { console.error(error.message); process.exit(1); });
