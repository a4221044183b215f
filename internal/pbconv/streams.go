package pbconv

import (
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
)

// StartFroms are the StartFrom values by their courier values.
var StartFroms = map[pb.StartFrom]driver.PositionKind{
	pb.StartFrom_START_FROM_EARLIEST: driver.FromEarliest,
	pb.StartFrom_START_FROM_LATEST:   driver.FromLatest,
}

// ApplyStreamAttributes overwrites the attributes of a that in sets.
func ApplyStreamAttributes(in *pb.StreamAttributes, a *driver.StreamAttributes) error {
	if in == nil {
		return nil
	}
	if in.Partitions != nil {
		a.Partitions = int(*in.Partitions)
	}
	if v, err := DurationPtr("attributes.retention", in.Retention); err != nil {
		return err
	} else if v != nil {
		a.Retention = *v
	}
	if in.RetentionBytes != nil {
		a.RetentionBytes = *in.RetentionBytes
	}
	if in.Compact != nil {
		a.Compact = *in.Compact
	}
	if v, err := DurationPtr("attributes.delete_retention", in.DeleteRetention); err != nil {
		return err
	} else if v != nil {
		a.DeleteRetention = *v
	}
	if in.MaxRecordSize != nil {
		a.MaxRecordSize = int(*in.MaxRecordSize)
	}
	return nil
}

// OffsetsPB converts a partition -> offset map.
func OffsetsPB(m map[int]int64) map[int32]int64 {
	out := make(map[int32]int64, len(m))
	for p, o := range m {
		out[int32(p)] = o
	}
	return out
}

// PartitionsPB converts partition numbers.
func PartitionsPB(ps []int) []int32 {
	out := make([]int32, len(ps))
	for i, p := range ps {
		out[i] = int32(p)
	}
	return out
}

// StreamInfoPB converts a stream's description.
func StreamInfoPB(i driver.StreamInfo) *pb.StreamInfo {
	a := i.Attributes
	out := &pb.StreamInfo{
		Name: i.Name,
		Attributes: &pb.StreamAttributes{
			Partitions: Ptr(int32(a.Partitions)), Retention: DurationPB(a.Retention), RetentionBytes: Ptr(a.RetentionBytes),
			Compact: Ptr(a.Compact), DeleteRetention: DurationPB(a.DeleteRetention), MaxRecordSize: Ptr(int32(a.MaxRecordSize)),
		},
		CreatedAt: TimePB(i.CreatedAt),
	}
	for _, p := range i.Partitions {
		out.Partitions = append(out.Partitions, &pb.PartitionInfo{Partition: int32(p.Partition), FirstOffset: p.First, EndOffset: p.End, Records: p.Records, Bytes: p.Bytes})
	}
	for _, gi := range i.Groups {
		pg := &pb.GroupInfo{
			Name: gi.Name, Generation: gi.Generation, Committed: OffsetsPB(gi.Committed), Lag: OffsetsPB(gi.Lag),
			StartFrom: EnumPB[pb.StartFrom](gi.StartFrom, StartFroms),
		}
		for _, m := range gi.Members {
			pg.Members = append(pg.Members, &pb.MemberInfo{Name: m.Name, Partitions: PartitionsPB(m.Partitions), LastSeen: TimePB(m.LastSeen)})
		}
		out.Groups = append(out.Groups, pg)
	}
	return out
}

// StreamRecordsPB converts read records.
func StreamRecordsPB(recs []driver.StreamRecord) []*pb.StreamRecord {
	out := make([]*pb.StreamRecord, len(recs))
	for i, r := range recs {
		out[i] = &pb.StreamRecord{Partition: int32(r.Partition), Offset: r.Offset, Timestamp: TimePB(r.Timestamp), Key: r.Key, Value: r.Value, Headers: r.Headers}
	}
	return out
}

// AssignmentPB converts a member's assignment.
func AssignmentPB(a driver.Assignment) *pb.Assignment {
	return &pb.Assignment{Generation: a.Generation, Partitions: PartitionsPB(a.Partitions), Offsets: OffsetsPB(a.Offsets)}
}

// Position converts a position; unset is the earliest.
func Position(field string, p *pb.Position) (driver.Position, error) {
	switch v := p.GetPosition().(type) {
	case *pb.Position_Latest:
		return driver.Position{Kind: driver.FromLatest}, nil
	case *pb.Position_Offset:
		return driver.Position{Kind: driver.FromOffset, Offset: v.Offset}, nil
	case *pb.Position_Time:
		t, err := Time(field+".time", v.Time)
		if err != nil {
			return driver.Position{}, err
		}
		if t.IsZero() {
			return driver.Position{}, driver.Invalid(field+".time", "required: a timestamp")
		}
		return driver.Position{Kind: driver.FromTime, Time: t}, nil
	}
	return driver.Position{Kind: driver.FromEarliest}, nil
}
