package redis

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// script composes a Lua script from files of lua/, in order; each starts
// with common.lua. Scripts run with EVALSHA and fall back to EVAL when the
// server does not know them (after a restart or SCRIPT FLUSH).
func script(names ...string) *redis.Script {
	src := mustRead("common")
	for _, n := range names {
		src += "\n" + mustRead(n)
	}
	return redis.NewScript(src)
}

func mustRead(name string) string {
	b, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic("drivers/redis: missing script " + name) // a build error, caught by every test
	}
	return string(b)
}

// The scripts. Each documents its arguments and results in its file.
var (
	scriptQueueCreate = script("queue_create")
	scriptQueueSet    = script("queue_set")
	scriptQueueInfo   = script("queue_info")
	scriptQueueDelete = script("queue_delete")
	scriptQueuePurge  = script("queue_purge")
	scriptSend        = script("send")
	scriptReceive     = script("receive")
	scriptAck         = script("ack")
	scriptVisibility  = script("visibility")
	scriptRedrive     = script("redrive")
	scriptPeek        = script("peek")

	scriptTopicCreate = script("topic_common", "topic_create")
	scriptTopicInfo   = script("topic_common", "topic_info")
	scriptTopicDelete = script("topic_common", "topic_delete")
	scriptRoutes      = script("topic_common", "routes")
	scriptSubscribe   = script("topic_common", "subscribe")
	scriptUnsubscribe = script("topic_common", "unsubscribe")
	scriptSubs        = script("topic_common", "subs")
	scriptPublish     = script("topic_common", "publish")

	scriptStreamCreate = script("stream_common", "stream_create")
	scriptStreamSet    = script("stream_common", "stream_set")
	scriptStreamInfo   = script("stream_common", "stream_info")
	scriptStreamDelete = script("stream_common", "stream_delete")
	scriptAppend       = script("stream_common", "append")
	scriptRead         = script("stream_common", "read")
	scriptGroupCommit  = script("stream_common", "group_commit")
	scriptGroupLeave   = script("stream_common", "group_leave")
	scriptGroupReset   = script("stream_common", "group_reset")
	scriptGroupDelete  = script("stream_common", "group_delete")

	groupJoin      = &scriptRef{"group_join", script("stream_common", "group_join")}
	groupHeartbeat = &scriptRef{"group_heartbeat", script("stream_common", "group_heartbeat")}
	groupPoll      = &scriptRef{"group_poll", script("stream_common", "group_poll")}
)

// scriptRef is a script with its name, for error messages.
type scriptRef struct {
	name   string
	script *redis.Script
}
