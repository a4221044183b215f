import { SQSClient, CreateQueueCommand, SendMessageCommand, SendMessageBatchCommand, ReceiveMessageCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ListQueuesCommand } from "@aws-sdk/client-sqs";
import { SNSClient, CreateTopicCommand, SubscribeCommand, PublishCommand, ListTopicsCommand, ListSubscriptionsByTopicCommand, GetTopicAttributesCommand } from "@aws-sdk/client-sns";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand, PutEventsCommand, ListRulesCommand, TestEventPatternCommand } from "@aws-sdk/client-eventbridge";
import { KinesisClient, CreateStreamCommand, PutRecordsCommand, GetShardIteratorCommand, GetRecordsCommand, ListShardsCommand, DescribeStreamCommand } from "@aws-sdk/client-kinesis";

// node smoke.mjs ENDPOINT ACCESS_KEY_ID SECRET: every service's main actions
// through the AWS SDK for JavaScript v3; a failed call or check throws
// (exit status 1).
const [endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const cfg = { endpoint, region: "us-east-1", credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 };
const sqs = new SQSClient(cfg), sns = new SNSClient(cfg), eb = new EventBridgeClient(cfg), kin = new KinesisClient(cfg);
const ok = (what, v) => console.log("ok", what, v === undefined ? "" : JSON.stringify(v).slice(0, 200));
const check = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  ok(what, got);
};

const q = await sqs.send(new CreateQueueCommand({ QueueName: "js-q", Attributes: { VisibilityTimeout: "5" } }));
ok("CreateQueue", q.QueueUrl);
const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ["All"] }))).Attributes.QueueArn;
ok("QueueArn", arn);
await sqs.send(new SendMessageCommand({ QueueUrl: q.QueueUrl, MessageBody: "héllo", MessageAttributes: { n: { DataType: "Number", StringValue: "3" }, b: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2]) } } }));
await sqs.send(new SendMessageBatchCommand({ QueueUrl: q.QueueUrl, Entries: [{ Id: "a", MessageBody: "one" }, { Id: "b", MessageBody: "two" }] }));
const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
check("Receive", r.Messages.map(m => [m.Body, Object.keys(m.MessageAttributes || {}).sort(), m.Attributes.ApproximateReceiveCount]).sort(),
  [["héllo", ["b", "n"], "1"], ["one", [], "1"], ["two", [], "1"]]);
await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: q.QueueUrl, Entries: r.Messages.map((m, i) => ({ Id: "d" + i, ReceiptHandle: m.ReceiptHandle })) }));
ok("ListQueues", (await sqs.send(new ListQueuesCommand({}))).QueueUrls);

const t = await sns.send(new CreateTopicCommand({ Name: "js-t", Attributes: { DisplayName: "JS" } }));
ok("CreateTopic", t.TopicArn);
const s = await sns.send(new SubscribeCommand({ TopicArn: t.TopicArn, Protocol: "sqs", Endpoint: arn, ReturnSubscriptionArn: true, Attributes: { FilterPolicy: '{"kind":["a"]}' } }));
ok("Subscribe", s.SubscriptionArn);
const p = await sns.send(new PublishCommand({ TopicArn: t.TopicArn, Message: "m1", Subject: "S", MessageAttributes: { kind: { DataType: "String", StringValue: "a" } } }));
ok("Publish", p.MessageId);
ok("ListTopics", (await sns.send(new ListTopicsCommand({}))).Topics);
ok("ListSubscriptionsByTopic", (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: t.TopicArn }))).Subscriptions);
ok("GetTopicAttributes", (await sns.send(new GetTopicAttributesCommand({ TopicArn: t.TopicArn }))).Attributes);
const r2 = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, WaitTimeSeconds: 2 }));
check("SNS->SQS", [JSON.parse(r2.Messages[0].Body).Message, JSON.parse(r2.Messages[0].Body).Subject], ["m1", "S"]);

await eb.send(new PutRuleCommand({ Name: "js-r", EventPattern: '{"source":["js"]}' }));
await eb.send(new PutTargetsCommand({ Rule: "js-r", Targets: [{ Id: "q", Arn: arn }] }));
const pe = await eb.send(new PutEventsCommand({ Entries: [{ Source: "js", DetailType: "T", Detail: '{"x":1}' }] }));
ok("PutEvents", pe.Entries);
ok("ListRules", (await eb.send(new ListRulesCommand({}))).Rules.map(x => x.Name));
check("TestEventPattern", (await eb.send(new TestEventPatternCommand({ EventPattern: '{"source":["js"]}', Event: JSON.stringify({ id: "1", account: "000000000000", source: "js", time: "2026-01-01T00:00:00Z", region: "us-east-1", resources: [], "detail-type": "T", detail: {} }) }))).Result, true);
const r3 = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, WaitTimeSeconds: 2 }));
check("EB->SQS", JSON.parse(r3.Messages[0].Body).source, "js");

await kin.send(new CreateStreamCommand({ StreamName: "js-s", ShardCount: 2 }));
const d = await kin.send(new DescribeStreamCommand({ StreamName: "js-s" }));
ok("DescribeStream", d.StreamDescription.Shards.map(x => x.HashKeyRange));
const pr = await kin.send(new PutRecordsCommand({ StreamName: "js-s", Records: [{ PartitionKey: "k1", Data: new TextEncoder().encode("r1") }, { PartitionKey: "k2", Data: new TextEncoder().encode("r2") }] }));
ok("PutRecords", pr.Records.map(x => [x.ShardId, x.SequenceNumber]));
const shards = (await kin.send(new ListShardsCommand({ StreamName: "js-s" }))).Shards;
let n = 0;
for (const sh of shards) {
  const it = await kin.send(new GetShardIteratorCommand({ StreamName: "js-s", ShardId: sh.ShardId, ShardIteratorType: "TRIM_HORIZON" }));
  const gr = await kin.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  n += gr.Records.length;
  ok("GetRecords " + sh.ShardId, gr.Records.map(x => [new TextDecoder().decode(x.Data), x.ApproximateArrivalTimestamp]));
}
check("records", n, 2);
