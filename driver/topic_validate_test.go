package driver_test

import (
	"reflect"
	"testing"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/pattern"
)

func TestHeaderAttributesTyped(t *testing.T) {
	got := driver.HeaderAttributes(map[string]string{
		"n": "150", "s": "150", "tags": `["a","b"]`, "plain": "x", "bin": "AAE=",
		driver.AttributeTypesHeader: "s=String,tags=String.Array,bin=Binary,missing=Number",
	})
	want := map[string]pattern.Attribute{
		"n":     {Type: "Number", Value: "150"}, // untyped: typed by its value
		"s":     {Type: "String", Value: "150"}, // typed String: not a Number
		"tags":  {Type: "String.Array", Value: `["a","b"]`},
		"plain": {Type: "String", Value: "x"},
		"bin":   {Type: "Binary", Value: "AAE="},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("HeaderAttributes =\n%v\nwant\n%v", got, want)
	}
}
