package kinesis

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/courier-io/courier/awsapi"
)

// consumerARN is the ARN of a registered consumer, as Kinesis forms it:
// the stream's ARN, "/consumer/", the name and ":" with the registration
// time in epoch seconds.
func (s *Service) consumerARN(stream, name string, m consumerMeta) string {
	return s.streamARN(stream) + "/consumer/" + name + ":" + strconv.FormatInt(m.Created/1000, 10)
}

// consumerNotFound is the error of a consumer that is not registered.
func (s *Service) consumerNotFound(stream, name string) error {
	return kerr(codeNotFound, "Consumer %s under stream %s under account %s not found.", name, stream, s.env.AccountID)
}

// consumer returns the registered consumer name of the stream; arn, when
// not "", must be its current ARN (an ARN of an earlier registration of
// the same name names nothing).
func (s *Service) consumer(k *kstream, name, arn string) (consumerMeta, error) {
	var m consumerMeta
	ok, err := s.env.Meta.Get(consumerKey(k.name, name), &m)
	if err != nil {
		return consumerMeta{}, internal(err)
	}
	if !ok || m.StreamCreated != k.info.CreatedAt.UnixNano() || (arn != "" && arn != s.consumerARN(k.name, name, m)) {
		return consumerMeta{}, s.consumerNotFound(k.name, name)
	}
	return m, nil
}

// updateConsumer applies f to a registered consumer and stores it.
func (s *Service) updateConsumer(c *call, k *kstream, name, arn string, f func(m *consumerMeta) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.consumer(k, name, arn)
	if err != nil {
		return err
	}
	m.Tags = maps.Clone(m.Tags)
	if err := f(&m); err != nil {
		return err
	}
	if err := s.env.Meta.Put(c.ctx, consumerKey(k.name, name), m); err != nil {
		return internal(err)
	}
	return nil
}

// consumerShape is the Consumer of a response.
func (s *Service) consumerShape(stream, name string, m consumerMeta) consumer {
	return consumer{
		ConsumerName: name, ConsumerARN: s.consumerARN(stream, name, m), ConsumerStatus: "ACTIVE",
		ConsumerCreationTimestamp: at(time.UnixMilli(m.Created)),
	}
}

func (s *Service) registerConsumer(c *call, in *registerConsumerInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Manage, &streamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	if err := checkNewTags(in.Tags, nil); err != nil {
		return nil, err
	}
	name := *in.ConsumerName
	s.mu.Lock()
	defer s.mu.Unlock()
	cons, err := s.consumers(k)
	if err != nil {
		return nil, err
	}
	if _, ok := cons[name]; ok {
		return nil, kerr(codeInUse, "Consumer %s under stream %s already exists for account %s.", name, k.name, s.env.AccountID)
	}
	if len(cons) >= maxConsumers {
		return nil, kerr(codeLimitExceeded, "Stream %s already has %d registered consumers, the limit", k.name, maxConsumers)
	}
	m := consumerMeta{StreamCreated: k.info.CreatedAt.UnixNano(), Created: time.Now().UnixMilli(), Tags: in.Tags}
	if err := s.env.Meta.Put(c.ctx, consumerKey(k.name, name), m); err != nil {
		return nil, internal(err)
	}
	return &registerConsumerOutput{Consumer: s.consumerShape(k.name, name, m)}, nil
}

// resolveConsumer finds the consumer a consumerRef names: by ConsumerARN,
// or by StreamARN and ConsumerName.
func (s *Service) resolveConsumer(c *call, perm awsapi.Permission, in *consumerRef) (*kstream, string, consumerMeta, error) {
	var stream, name, arn string
	switch {
	case in.ConsumerARN != nil:
		res, err := s.parseResourceARN(*in.ConsumerARN)
		if err != nil {
			return nil, "", consumerMeta{}, err
		}
		if res.consumer == "" {
			return nil, "", consumerMeta{}, invalid("%q is a stream ARN, not a consumer ARN", *in.ConsumerARN)
		}
		stream, name, arn = res.stream, res.consumer, *in.ConsumerARN
		if in.StreamARN != nil || in.ConsumerName != nil {
			ref := consumerRef{StreamARN: in.StreamARN, ConsumerName: in.ConsumerName}
			if ref.ConsumerName == nil || ref.StreamARN == nil || *ref.ConsumerName != name {
				return nil, "", consumerMeta{}, invalid("give either ConsumerARN, or StreamARN and ConsumerName")
			}
			if sn, err := s.streamFromARN(*ref.StreamARN); err != nil || sn != stream {
				return nil, "", consumerMeta{}, invalid("StreamARN and ConsumerARN name different streams")
			}
		}
	case in.StreamARN != nil && in.ConsumerName != nil:
		sn, err := s.streamFromARN(*in.StreamARN)
		if err != nil {
			return nil, "", consumerMeta{}, err
		}
		stream, name = sn, *in.ConsumerName
	default:
		return nil, "", consumerMeta{}, invalid("give either ConsumerARN, or StreamARN and ConsumerName")
	}
	k, err := s.lookup(c, perm, stream)
	if err != nil {
		return nil, "", consumerMeta{}, err
	}
	m, err := s.consumer(k, name, arn)
	if err != nil {
		return nil, "", consumerMeta{}, err
	}
	return k, name, m, nil
}

func (s *Service) describeConsumer(c *call, in *consumerRef) (any, error) {
	k, name, m, err := s.resolveConsumer(c, awsapi.Describe, in)
	if err != nil {
		return nil, err
	}
	return &describeConsumerOutput{ConsumerDescription: consumerDescription{consumer: s.consumerShape(k.name, name, m), StreamARN: s.streamARN(k.name)}}, nil
}

func (s *Service) deregisterConsumer(c *call, in *consumerRef) (any, error) {
	k, name, _, err := s.resolveConsumer(c, awsapi.Manage, in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	err = s.env.Meta.Delete(c.ctx, consumerKey(k.name, name))
	s.mu.Unlock()
	if err != nil {
		return nil, internal(err)
	}
	s.endSubscriptions(k.name + "/" + name + ":")
	return nil, nil
}

func (s *Service) listConsumers(c *call, in *listConsumersInput) (any, error) {
	k, err := s.lookupRef(c, awsapi.Describe, &streamRef{StreamARN: in.StreamARN})
	if err != nil {
		return nil, err
	}
	if err := s.checkCreated(k, in.StreamCreationTimestamp); err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != nil {
		var tok shardsToken
		if err := decodeToken(*in.NextToken, &tok); err != nil {
			return nil, err
		}
		if tok.Stream != k.name || tok.Created != k.info.CreatedAt.UnixNano() {
			return nil, invalid("NextToken was issued for another stream")
		}
		after = tok.After
	}
	limit := 100
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	cons, err := s.consumers(k)
	if err != nil {
		return nil, err
	}
	out := &listConsumersOutput{Consumers: []consumer{}}
	for _, name := range slices.Sorted(maps.Keys(cons)) {
		if name <= after {
			continue
		}
		if len(out.Consumers) == limit {
			out.NextToken = k.pageToken(out.Consumers[limit-1].ConsumerName)
			break
		}
		out.Consumers = append(out.Consumers, s.consumerShape(k.name, name, cons[name]))
	}
	return out, nil
}
