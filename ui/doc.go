// Package ui is the courier web dashboard: a dependency-free page (HTML,
// CSS and JavaScript modules, no build step) embedded in the binary and
// served by Handler under /ui/. The page holds no data: it asks the REST
// API (/v1/...) and the WebSocket endpoint (/v1/ws) of the server that
// serves it, with the user's bearer token when authentication is on, so
// the server checks every read and every action as for any other client.
//
// Handler serves the files; package server mounts it at /ui/ (Prefix) on
// every server, public since the files hold no data, with a strict
// Content-Security-Policy (ContentSecurityPolicy). The browser tests in
// this package drive the page in headless Chromium against a real server.
// docs/dashboard.md describes the pages.
package ui
