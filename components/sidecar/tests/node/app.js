// A Node.js app that joins a micro system through its sidecar: plain `node`, no package.
//
//   PORT=3000 SIDECAR=http://127.0.0.1:8081 node --experimental-websocket app.js
//
// Serves Greeter.* endpoints (the sidecar delivers calls as POST /<Endpoint>), calls a
// Python service through the sidecar's /rpc, receives the "news" topic on the sidecar's
// /broker websocket and the "alerts" topic as a push subscription, publishes through
// /publish/<topic>, and lets the test flip its health check and inspect what arrived.
"use strict";

const http = require("node:http");

const SIDECAR = process.env.SIDECAR;
const TOKEN = process.env.SIDECAR_TOKEN || "";
const seen = { news: [], alerts: [], slow: 0, connected: false, subscribed: false };
let healthy = true;

function auth() {
  return TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {};
}

async function sidecar(method, path, body) {
  const response = await fetch(SIDECAR + path, {
    method,
    headers: { "Content-Type": "application/json", ...auth() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// What the sidecar reads with --openapi /openapi.json: one endpoint per POST operation.
const openapi = {
  openapi: "3.1.0",
  info: { title: "greeter", version: "1.0.0" },
  paths: {
    "/Greeter.Hello": {
      post: {
        operationId: "Greeter.Hello",
        requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Hello" } } } },
        responses: { 200: { description: "the greeting" } },
      },
    },
    "/orders/create": {
      post: {
        requestBody: {
          content: {
            "application/json": {
              schema: {
                title: "Order",
                type: "object",
                properties: { item: { type: "string" }, quantity: { type: "integer" } },
              },
            },
          },
        },
        responses: { 201: { description: "the order" } },
      },
    },
    "/health": { get: { responses: { 200: { description: "healthy" } } } },
  },
  components: {
    schemas: { Hello: { type: "object", properties: { name: { type: "string" } } } },
  },
};

const endpoints = {
  // Delivered here by its OpenAPI path, not by the endpoint name.
  "/orders/create": async (req) => ({ created: req.item, quantity: req.quantity }),
  // A call by service name from any micro client lands here.
  "/Greeter.Hello": async (req, headers) => ({
    message: `Hello ${req.name} from node`,
    clerk: headers["clerk"] || "",
  }),
  // The app calls a Python service through the sidecar.
  "/Greeter.Relay": async (req) => {
    const reply = await sidecar("POST", "/rpc", {
      service: req.service,
      endpoint: req.endpoint,
      request: req.request,
    });
    return { status: reply.status, reply: reply.body };
  },
  // The app publishes through the sidecar.
  "/Greeter.Announce": async (req) => {
    const reply = await sidecar("POST", `/publish/${req.topic}`, req.message);
    return { status: reply.status };
  },
  "/Greeter.Seen": async () => seen,
  "/Greeter.Fail": async () => {
    const error = new Error("no");
    error.micro = { id: "greeter", code: 409, detail: "it was already done", status: "Conflict" };
    throw error;
  },
};

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString()));
    request.on("error", reject);
  });
}

function reply(response, status, value) {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(value));
}

const server = http.createServer(async (request, response) => {
  const text = await readBody(request);
  const url = request.url;
  if (request.method === "GET" && url === "/openapi.json") return reply(response, 200, openapi);
  if (request.method === "GET" && url === "/health") {
    return reply(response, healthy ? 200 : 503, { healthy });
  }
  if (request.method === "POST" && url === "/control/health") {
    healthy = JSON.parse(text).healthy;
    return reply(response, 200, { healthy });
  }
  if (request.method === "POST" && url === "/push/alerts") {
    seen.alerts.push(JSON.parse(text));
    return reply(response, 200, {});
  }
  if (request.method === "POST" && url === "/push/slow") {
    // The first delivery never gets an answer in time; the sidecar must deliver it again.
    seen.slow += 1;
    if (seen.slow === 1) return; // left hanging: the sidecar's push timeout fires
    seen.alerts.push({ slow: JSON.parse(text), delivery: seen.slow });
    return reply(response, 200, {});
  }
  const endpoint = request.method === "POST" && endpoints[url];
  if (!endpoint) return reply(response, 404, { detail: `no ${request.method} ${url}` });
  try {
    return reply(response, 200, await endpoint(JSON.parse(text || "null"), request.headers));
  } catch (error) {
    if (error.micro) return reply(response, error.micro.code, error.micro);
    return reply(response, 500, { detail: String(error) });
  }
});

// The "news" topic arrives on the websocket; the app (re)connects until the sidecar is up.
function connect() {
  const socket = new WebSocket(`${SIDECAR.replace("http", "ws")}/broker?topic=news&queue=node`, {
    headers: auth(),
  });
  socket.addEventListener("open", () => {
    seen.connected = true;
  });
  socket.addEventListener("message", (event) => {
    seen.news.push(JSON.parse(event.data));
  });
  let retried = false;
  const retry = () => {
    // A refused connection fires only "error", a dropped one "close" (and maybe both).
    seen.connected = false;
    if (!retried) setTimeout(connect, 200);
    retried = true;
  };
  socket.addEventListener("close", retry);
  socket.addEventListener("error", retry);
}

// The "alerts" topic is pushed to POST /push/alerts; "slow" to an endpoint that hangs once.
async function subscribe() {
  try {
    for (const topic of ["alerts", "slow"]) {
      const answer = await sidecar("POST", "/subscriptions", { topic, url: `/push/${topic}` });
      if (answer.status !== 201) throw new Error(`subscribe ${topic}: ${answer.status}`);
    }
    seen.subscribed = true;
  } catch (error) {
    setTimeout(subscribe, 200);
  }
}

server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`node app listening on ${server.address().port}`);
  if (SIDECAR) {
    connect();
    subscribe();
  }
});

process.on("SIGTERM", () => server.close(() => process.exit(0)));
