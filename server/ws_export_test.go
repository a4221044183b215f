package server

// Test hooks of the WebSocket endpoint.

// WSConns returns the number of open WebSocket connections.
func (s *Server) WSConns() int { return s.wsConns() }

// WSQueuedHigh returns the most bytes that were ever queued for one
// WebSocket connection.
func (s *Server) WSQueuedHigh() int64 { return s.ws.queuedHigh.Load() }
