package registry

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// RowFunc renders one object as a table row (cells, and conditions if
// any); the TableConvertor fills in the row's object.
type RowFunc func(obj runtime.Object, now time.Time) (metav1.TableRow, error)

// TableConvertor turns objects of one kind into meta.k8s.io/v1 Tables, the
// way kube-apiserver's printers do. Now is the clock for AGE columns.
type TableConvertor struct {
	GVK     schema.GroupVersionKind
	Columns []metav1.TableColumnDefinition
	Row     RowFunc
	Now     func() time.Time
}

// ConvertToTable renders obj, a single object or a list. Each row carries
// the object as PartialObjectMetadata (the default, includeObject=Metadata),
// the full object (includeObject=Object) or nothing (includeObject=None).
// Only RawExtension.Object is set; the edge encodes it.
func (c *TableConvertor) ConvertToTable(obj runtime.Object, opts *metav1.TableOptions) (*metav1.Table, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	policy := metav1.IncludeMetadata
	if opts != nil && opts.IncludeObject != "" {
		policy = opts.IncludeObject
	}
	table := &metav1.Table{}
	addRow := func(o runtime.Object) error {
		row, err := c.Row(o, now)
		if err != nil {
			return err
		}
		ext, err := c.rowObject(o, policy)
		if err != nil {
			return err
		}
		row.Object = ext
		table.Rows = append(table.Rows, row)
		return nil
	}
	if meta.IsListType(obj) {
		table.Rows = []metav1.TableRow{}
		if err := meta.EachListItem(obj, addRow); err != nil {
			return nil, err
		}
		if l, err := meta.ListAccessor(obj); err == nil {
			table.ResourceVersion = l.GetResourceVersion()
			table.Continue = l.GetContinue()
			table.RemainingItemCount = l.GetRemainingItemCount()
		}
	} else {
		if err := addRow(obj); err != nil {
			return nil, err
		}
		if m, err := meta.Accessor(obj); err == nil {
			table.ResourceVersion = m.GetResourceVersion()
		}
	}
	if opts == nil || !opts.NoHeaders {
		table.ColumnDefinitions = c.Columns
	}
	return table, nil
}

func (c *TableConvertor) rowObject(o runtime.Object, policy metav1.IncludeObjectPolicy) (runtime.RawExtension, error) {
	switch policy {
	case metav1.IncludeNone:
		return runtime.RawExtension{}, nil
	case metav1.IncludeObject:
		cp := o.DeepCopyObject()
		cp.GetObjectKind().SetGroupVersionKind(c.GVK)
		return runtime.RawExtension{Object: cp}, nil
	default:
		m, err := meta.Accessor(o)
		if err != nil {
			return runtime.RawExtension{}, fmt.Errorf("table row: %w", err)
		}
		p := meta.AsPartialObjectMetadata(m)
		p.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}
		return runtime.RawExtension{Object: p}, nil
	}
}

// NameColumn is the first column of every table.
func NameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]}
}

// AgeColumn is the AGE column.
func AgeColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]}
}

// Column is a shorthand for a column definition (priority 1 = -o wide).
func Column(name, typ string, priority int32, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Priority: priority, Description: description}
}

// HumanAge is kubectl's translateTimestampSince: "<unknown>" for a zero
// time, else the human duration between t and now ("5s", "3m2s", "4h").
func HumanAge(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
