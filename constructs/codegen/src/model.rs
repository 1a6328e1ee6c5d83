//! From one registry schema (JSON) to the items of its Rust module: structs, enums, the handle's
//! attribute methods and the static metadata.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use serde_json::Value as Json;

use crate::Error;
use crate::docs::{code, doc_text};
use crate::names::{Namespace, RESERVED_TYPE_NAMES, pascal, shouty, snake_ident, variant};

/// How many sentences of a schema description end up in rustdoc.
pub const DOC_SENTENCES: usize = 2;

/// The Rust type of a value, as the `T` in `Value<T>`.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// `String`.
    String,
    /// `i64`.
    Integer,
    /// `f64`.
    Number,
    /// `bool`.
    Boolean,
    /// `cfn_core::Json`.
    Json,
    /// `Vec<Value<T>>`.
    List(Box<Ty>),
    /// `IndexMap<String, Value<T>>`.
    Map(Box<Ty>),
    /// A generated struct (index into [`TypeModel::structs`]).
    Struct(usize),
    /// A generated enum (index into [`TypeModel::enums`]).
    Enum(usize),
    /// A string that identifies a known kind of resource: `cfn_core::refs::<kind>`.
    Ref(&'static str),
}

/// A property's shape and constraints, for the static `PropSpec` tree.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeIr {
    /// A string with its rules.
    String {
        /// `enum` values.
        allowed: Vec<String>,
        /// `pattern`.
        pattern: Option<String>,
        /// `minLength`.
        min_length: Option<u64>,
        /// `maxLength`.
        max_length: Option<u64>,
    },
    /// An integer with `minimum`/`maximum`.
    Integer(Option<f64>, Option<f64>),
    /// A number with `minimum`/`maximum`.
    Number(Option<f64>, Option<f64>),
    /// A boolean.
    Boolean,
    /// A list.
    List {
        /// The items' shape.
        item: Box<ShapeIr>,
        /// `minItems`.
        min_items: Option<u64>,
        /// `maxItems`.
        max_items: Option<u64>,
    },
    /// A string-keyed map.
    Map(Box<ShapeIr>),
    /// A generated struct (index into [`TypeModel::structs`]).
    Object(usize),
    /// Anything.
    Any,
}

/// One field of a generated struct.
#[derive(Clone, Debug)]
pub struct Field {
    /// The CloudFormation property name.
    pub cfn_name: String,
    /// The Rust field (and setter, and `new` parameter) name.
    pub rust_name: String,
    /// Listed in `required`.
    pub required: bool,
    /// The `T` of its `Value<T>`.
    pub ty: Ty,
    /// Its metadata shape.
    pub shape: ShapeIr,
    /// Rustdoc text.
    pub doc: String,
    /// Stored as `Box<Value<T>>` to break a recursive type.
    pub boxed: bool,
}

/// A generated struct: the resource's properties or a nested definition.
#[derive(Clone, Debug)]
pub struct StructItem {
    /// Rust type name.
    pub name: String,
    /// Name of the private static holding its `PropSpec`s.
    pub props_static: String,
    /// Rustdoc text.
    pub doc: String,
    /// Fields in schema order.
    pub fields: Vec<Field>,
    /// `additionalProperties: false`.
    pub closed: bool,
    /// Gets a flattened `additional_properties` map (custom resources' free-form properties).
    pub open_map: bool,
    /// JSON pointer of the schema node.
    pub pointer: String,
}

/// A generated string enum.
#[derive(Clone, Debug)]
pub struct EnumItem {
    /// Rust type name.
    pub name: String,
    /// Rustdoc text.
    pub doc: String,
    /// The schema values, de-duplicated, in schema order.
    pub values: Vec<String>,
    /// One variant name per value.
    pub variants: Vec<String>,
}

/// A `Fn::GetAtt` method of the handle.
#[derive(Clone, Debug)]
pub struct AttrMethod {
    /// Method name.
    pub method: String,
    /// The attribute name, dotted (`Endpoint.Address`).
    pub attribute: String,
    /// Its value type (primitive, or a list of primitives).
    pub ty: Ty,
    /// Rustdoc text.
    pub doc: String,
}

/// Where a taggable type keeps its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagKind {
    /// `[{"Key", "Value"}]`.
    KeyValueList,
    /// `{"k": "v"}`.
    Map,
}

/// Everything generated for one resource type.
#[derive(Clone, Debug)]
pub struct TypeModel {
    /// `AWS::S3::Bucket`.
    pub type_name: String,
    /// `AWS`.
    pub vendor: String,
    /// `S3`, as spelled in the type name.
    pub service: String,
    /// `Bucket`, as spelled in the type name.
    pub resource: String,
    /// The type's module (`bucket`).
    pub module: String,
    /// Rustdoc of the module.
    pub doc: String,
    /// Index of the properties struct in `structs` (always 0).
    pub root: usize,
    /// The handle type name (`BucketHandle`).
    pub handle: String,
    /// Structs, the properties struct first.
    pub structs: Vec<StructItem>,
    /// String enums.
    pub enums: Vec<EnumItem>,
    /// Attribute methods of the handle.
    pub attrs: Vec<AttrMethod>,
    /// `readOnlyProperties` without wildcards, dotted.
    pub attributes: Vec<String>,
    /// `createOnlyProperties`, below `Properties`.
    pub create_only: Vec<String>,
    /// `conditionalCreateOnlyProperties`.
    pub conditional_create_only: Vec<String>,
    /// `primaryIdentifier`.
    pub primary_identifier: Vec<String>,
    /// `writeOnlyProperties`.
    pub write_only: Vec<String>,
    /// Tag property and shape.
    pub tagging: Option<(String, TagKind)>,
}

impl TypeModel {
    /// The properties struct.
    pub fn root_struct(&self) -> &StructItem {
        &self.structs[self.root]
    }

    /// Builds the model of one registry schema.
    pub fn build(schema: &Json) -> Result<TypeModel, Error> {
        let type_name = schema
            .get("typeName")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::Schema("schema without typeName".into()))?
            .to_owned();
        let parts: Vec<&str> = type_name.split("::").collect();
        let [vendor, service, resource] = parts[..] else {
            return Err(Error::Schema(format!("unexpected type name {type_name}")));
        };
        let mut b = Builder::new(schema, &type_name, resource);
        b.reserve_definitions();
        let root = b.struct_for("", schema, resource, "");
        b.drain()?;
        b.mark_boxes();
        let attrs = b.attr_methods();
        let desc = schema
            .get("description")
            .and_then(Json::as_str)
            .unwrap_or("");
        let doc = match doc_text(desc, DOC_SENTENCES) {
            Some(d) => format!("{}: {d}", code(&type_name)),
            None => format!("The {} resource type.", code(&type_name)),
        };
        Ok(TypeModel {
            vendor: vendor.to_owned(),
            service: service.to_owned(),
            resource: resource.to_owned(),
            module: snake_ident(resource),
            doc,
            root,
            handle: b.handle.clone(),
            attributes: read_only_paths(schema)
                .iter()
                .filter(|p| !p.iter().any(|s| s == "*"))
                .map(|p| p.join("."))
                .collect(),
            create_only: paths(schema, "createOnlyProperties"),
            conditional_create_only: paths(schema, "conditionalCreateOnlyProperties"),
            primary_identifier: paths(schema, "primaryIdentifier"),
            write_only: paths(schema, "writeOnlyProperties"),
            tagging: tagging(schema),
            structs: b.structs,
            enums: b.enums,
            attrs,
            type_name,
        })
    }
}

/// A list of `/properties/…` pointers as `/`-separated paths below `Properties`.
fn paths(schema: &Json, key: &str) -> Vec<String> {
    str_list(schema.get(key))
        .iter()
        .map(|p| strip_properties(p))
        .collect()
}

/// `/properties/VpcConfig/SubnetIds` → `VpcConfig/SubnetIds`.
pub fn strip_properties(p: &str) -> String {
    p.strip_prefix("/properties/")
        .unwrap_or(p.trim_start_matches('/'))
        .to_owned()
}

fn str_list(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `readOnlyProperties` split into segments below `Properties`.
fn read_only_paths(schema: &Json) -> Vec<Vec<String>> {
    str_list(schema.get("readOnlyProperties"))
        .iter()
        .map(|p| strip_properties(p).split('/').map(str::to_owned).collect())
        .collect()
}

/// Follows `$ref`s (local ones only) to the node they designate.
fn deref<'a>(root: &'a Json, mut node: &'a Json) -> &'a Json {
    for _ in 0..16 {
        match node
            .get("$ref")
            .and_then(Json::as_str)
            .and_then(|r| lookup(root, r))
        {
            Some(target) => node = target,
            None => break,
        }
    }
    node
}

/// A local `$ref` (`#/definitions/X`).
fn lookup<'a>(root: &'a Json, reference: &str) -> Option<&'a Json> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Escapes a JSON-pointer segment.
fn seg(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The JSON type a node stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Any,
}

fn kind(node: &Json) -> Kind {
    let by_name = |s: &str| match s {
        "string" => Kind::String,
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "array" => Kind::Array,
        "object" => Kind::Object,
        _ => Kind::Any,
    };
    match node.get("type") {
        Some(Json::String(s)) => by_name(s),
        Some(Json::Array(types)) => {
            let named: Vec<&str> = types
                .iter()
                .filter_map(Json::as_str)
                .filter(|t| *t != "null")
                .collect();
            match named[..] {
                [one] => by_name(one),
                _ => Kind::Any,
            }
        }
        Some(_) => Kind::Any,
        None => {
            if node.get("properties").is_some_and(Json::is_object) {
                Kind::Object
            } else if node.get("items").is_some() {
                Kind::Array
            } else if string_enum(node).is_some() {
                Kind::String
            } else if node.get("patternProperties").is_some()
                || node
                    .get("additionalProperties")
                    .is_some_and(Json::is_object)
            {
                Kind::Object
            } else {
                Kind::Any
            }
        }
    }
}

/// True for a node that says nothing about its value (`{}` or only a description).
fn is_blank(node: &Json) -> bool {
    node.as_object().is_some_and(|o| {
        o.keys()
            .all(|k| matches!(k.as_str(), "description" | "title" | "$comment" | "format"))
    })
}

/// The values of a string `enum`, de-duplicated.
fn string_enum(node: &Json) -> Option<Vec<String>> {
    let values = node.get("enum")?.as_array()?;
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let s = v.as_str()?;
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    (!out.is_empty()).then_some(out)
}

fn has_properties(node: &Json) -> bool {
    node.get("properties")
        .and_then(Json::as_object)
        .is_some_and(|p| !p.is_empty())
}

fn u64_of(node: &Json, key: &str) -> Option<u64> {
    let v = node.get(key)?;
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

fn f64_of(node: &Json, key: &str) -> Option<f64> {
    node.get(key)?.as_f64()
}

/// The schema of a map's values: `Some(Ok(node))` when there is one, `Some(Err(()))` when
/// several differ, `None` when the object is not a map.
fn map_values<'a>(node: &'a Json, pointer: &str) -> Option<Result<(String, &'a Json), ()>> {
    if let Some(pp) = node.get("patternProperties").and_then(Json::as_object) {
        let mut it = pp.iter();
        if let Some((pattern, first)) = it.next() {
            if it.all(|(_, v)| v == first) {
                return Some(Ok((
                    format!("{pointer}/patternProperties/{}", seg(pattern)),
                    first,
                )));
            }
            return Some(Err(()));
        }
    }
    match node.get("additionalProperties") {
        Some(ap @ Json::Object(_)) => Some(Ok((format!("{pointer}/additionalProperties"), ap))),
        _ => None,
    }
}

/// `tagging.taggable` (or legacy `taggable`), `tagProperty`, and the tag shape.
fn tagging(schema: &Json) -> Option<(String, TagKind)> {
    let tagging = schema.get("tagging");
    let taggable = tagging
        .and_then(|t| t.get("taggable"))
        .or_else(|| schema.get("taggable"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    if !taggable {
        return None;
    }
    let pointer = tagging
        .and_then(|t| t.get("tagProperty"))
        .and_then(Json::as_str)
        .unwrap_or("/properties/Tags");
    let name = strip_properties(pointer);
    let node = deref(schema, schema.get("properties")?.get(&name)?);
    let shape = match kind(node) {
        Kind::Array => {
            let item = deref(schema, node.get("items")?);
            let props = item.get("properties")?;
            (props.get("Key").is_some() && props.get("Value").is_some())
                .then_some(TagKind::KeyValueList)?
        }
        Kind::Object if !has_properties(node) => match map_values(node, "") {
            Some(Ok((_, v))) => (kind(deref(schema, v)) == Kind::String).then_some(TagKind::Map)?,
            Some(Err(())) => return None,
            None => TagKind::Map,
        },
        _ => return None,
    };
    Some((name, shape))
}

struct Builder<'a> {
    root: &'a Json,
    type_name: String,
    resource_struct: String,
    handle: String,
    types: Namespace,
    statics: Namespace,
    reserved_defs: HashMap<String, String>,
    struct_by_ptr: HashMap<String, usize>,
    enum_by_ptr: HashMap<String, usize>,
    structs: Vec<StructItem>,
    enums: Vec<EnumItem>,
    queue: VecDeque<usize>,
    read_only_top: HashSet<String>,
}

impl<'a> Builder<'a> {
    fn new(root: &'a Json, type_name: &str, resource: &str) -> Self {
        let mut types = Namespace::with_reserved(RESERVED_TYPE_NAMES);
        let resource_struct = pascal(resource);
        let resource_struct = types.take(&resource_struct, "Resource");
        let handle = types.take(&format!("{resource_struct}Handle"), "");
        let read_only_top = read_only_paths(root)
            .into_iter()
            .filter(|p| p.len() == 1)
            .map(|mut p| p.remove(0))
            .collect();
        Builder {
            root,
            type_name: type_name.to_owned(),
            resource_struct,
            handle,
            types,
            statics: Namespace::with_reserved(&["SCHEMA"]),
            reserved_defs: HashMap::new(),
            struct_by_ptr: HashMap::new(),
            enum_by_ptr: HashMap::new(),
            structs: Vec::new(),
            enums: Vec::new(),
            queue: VecDeque::new(),
            read_only_top,
        }
    }

    /// Gives definitions that become structs or enums their names first, in sorted order, so
    /// inline items never steal a definition's name.
    fn reserve_definitions(&mut self) {
        let Some(defs) = self.root.get("definitions").and_then(Json::as_object) else {
            return;
        };
        let mut names: Vec<&String> = defs.keys().collect();
        names.sort();
        for def in names {
            let node = &defs[def.as_str()];
            if node.get("$ref").is_some() {
                continue;
            }
            let k = kind(node);
            let named = (k == Kind::Object && has_properties(node))
                || (k == Kind::String && string_enum(node).is_some());
            if named {
                let base = pascal(def);
                let name = if self.types.try_take(&base) {
                    base
                } else {
                    self.types.take(&format!("{base}Property"), "")
                };
                self.reserved_defs
                    .insert(format!("/definitions/{}", seg(def)), name);
            }
        }
    }

    fn inline_name(&mut self, hint: &str, owner: &str) -> String {
        let base = pascal(hint);
        if self.types.try_take(&base) {
            return base;
        }
        let prefixed = format!("{owner}{base}");
        self.types.take(&prefixed, "")
    }

    fn struct_for(&mut self, pointer: &str, node: &'a Json, hint: &str, owner: &str) -> usize {
        if let Some(i) = self.struct_by_ptr.get(pointer) {
            return *i;
        }
        let name = if pointer.is_empty() {
            self.resource_struct.clone()
        } else if let Some(n) = self.reserved_defs.get(pointer) {
            n.clone()
        } else {
            self.inline_name(hint, owner)
        };
        let props_static = self.statics.take(&format!("{}_PROPS", shouty(&name)), "_");
        let doc = match node
            .get("description")
            .and_then(Json::as_str)
            .and_then(|d| {
                (!pointer.is_empty())
                    .then(|| doc_text(d, DOC_SENTENCES))
                    .flatten()
            }) {
            Some(d) => d,
            None if pointer.is_empty() => {
                format!("The properties of {}.", code(&self.type_name))
            }
            None => format!(
                "The {} property type of {}.",
                code(hint),
                code(&self.type_name)
            ),
        };
        let idx = self.structs.len();
        self.structs.push(StructItem {
            name,
            props_static,
            doc,
            fields: Vec::new(),
            closed: node.get("additionalProperties") == Some(&Json::Bool(false)),
            open_map: pointer.is_empty()
                && node
                    .get("patternProperties")
                    .and_then(Json::as_object)
                    .is_some_and(|p| !p.is_empty()),
            pointer: pointer.to_owned(),
        });
        self.struct_by_ptr.insert(pointer.to_owned(), idx);
        self.queue.push_back(idx);
        idx
    }

    fn enum_for(
        &mut self,
        pointer: &str,
        values: Vec<String>,
        hint: &str,
        owner: &str,
        desc: Option<&str>,
    ) -> usize {
        if let Some(i) = self.enum_by_ptr.get(pointer) {
            return *i;
        }
        let name = if let Some(n) = self.reserved_defs.get(pointer) {
            n.clone()
        } else {
            // Reuse an identical enum of the same name before inventing a prefixed one.
            let base = pascal(hint);
            let prefixed = format!("{owner}{base}");
            let same = |e: &EnumItem, n: &str| e.name == n && e.values == values;
            if let Some(i) = self
                .enums
                .iter()
                .position(|e| same(e, &base) || same(e, &prefixed))
            {
                self.enum_by_ptr.insert(pointer.to_owned(), i);
                return i;
            }
            self.inline_name(hint, owner)
        };
        let mut variants = Namespace::with_reserved(&["Other"]);
        let variant_names = values
            .iter()
            .enumerate()
            .map(|(i, v)| variants.take(&variant(v, i), ""))
            .collect();
        let doc = desc
            .and_then(|d| doc_text(d, 1))
            .unwrap_or_else(|| format!("Values of {}.", code(hint)));
        let idx = self.enums.len();
        self.enums.push(EnumItem {
            name,
            doc,
            values,
            variants: variant_names,
        });
        self.enum_by_ptr.insert(pointer.to_owned(), idx);
        idx
    }

    fn drain(&mut self) -> Result<(), Error> {
        while let Some(idx) = self.queue.pop_front() {
            self.fill(idx)?;
        }
        Ok(())
    }

    fn fill(&mut self, idx: usize) -> Result<(), Error> {
        let pointer = self.structs[idx].pointer.clone();
        let owner = self.structs[idx].name.clone();
        let node = if pointer.is_empty() {
            self.root
        } else {
            self.root
                .pointer(&pointer)
                .ok_or_else(|| Error::Schema(format!("{}: dangling {pointer}", self.type_name)))?
        };
        let required: HashSet<&str> = node
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        const RESERVED: &[&str] = &[
            "new",
            "default",
            "clone",
            "fmt",
            "eq",
            "ne",
            "hash",
            "into",
            "from",
            "serialize",
            "to_owned",
            "to_string",
            "as_ref",
            "deref",
        ];
        let mut idents = Namespace::with_reserved(RESERVED);
        if self.structs[idx].open_map {
            idents.try_take("additional_properties");
            idents.try_take("additional_property");
        }
        let mut fields = Vec::new();
        if let Some(props) = node.get("properties").and_then(Json::as_object) {
            for (name, prop) in props {
                if pointer.is_empty() && self.read_only_top.contains(name) {
                    continue;
                }
                let loc = format!("{pointer}/properties/{}", seg(name));
                let (ty, shape) = self.analyze(prop, &loc, name, &owner, 0);
                let desc = prop.get("description").and_then(Json::as_str).or_else(|| {
                    deref(self.root, prop)
                        .get("description")
                        .and_then(Json::as_str)
                });
                let doc = desc
                    .and_then(|d| doc_text(d, DOC_SENTENCES))
                    .unwrap_or_else(|| format!("The {} property.", code(name)));
                fields.push(Field {
                    cfn_name: name.clone(),
                    rust_name: {
                        let base = snake_ident(name);
                        let base = if RESERVED.contains(&base.as_str()) {
                            base + "_"
                        } else {
                            base
                        };
                        idents.take(&base, "_")
                    },
                    required: required.contains(name.as_str()),
                    ty,
                    shape,
                    doc,
                    boxed: false,
                });
            }
        }
        self.structs[idx].fields = fields;
        Ok(())
    }

    fn analyze(
        &mut self,
        node: &'a Json,
        loc: &str,
        hint: &str,
        owner: &str,
        depth: u32,
    ) -> (Ty, ShapeIr) {
        if let Some(r) = node.get("$ref").and_then(Json::as_str) {
            return match (depth < 16).then(|| lookup(self.root, r)).flatten() {
                Some(target) => {
                    let ptr = r.trim_start_matches('#');
                    let def_hint = ptr
                        .rsplit('/')
                        .next()
                        .unwrap_or(hint)
                        .replace("~1", "/")
                        .replace("~0", "~");
                    let hint = if ptr.starts_with("/definitions/") {
                        def_hint
                    } else {
                        hint.to_owned()
                    };
                    self.analyze(target, ptr, &hint, owner, depth + 1)
                }
                None => (Ty::Json, ShapeIr::Any),
            };
        }
        match kind(node) {
            Kind::String => {
                let shape = ShapeIr::String {
                    allowed: string_enum(node).unwrap_or_default(),
                    pattern: node
                        .get("pattern")
                        .and_then(Json::as_str)
                        .map(str::to_owned),
                    min_length: u64_of(node, "minLength"),
                    max_length: u64_of(node, "maxLength"),
                };
                let by_name = || crate::refs::kind_by_name(&self.type_name, loc, hint);
                match (
                    string_enum(node),
                    crate::refs::kind_of(node).or_else(by_name),
                ) {
                    (Some(values), _) => {
                        let desc = node.get("description").and_then(Json::as_str);
                        (
                            Ty::Enum(self.enum_for(loc, values, hint, owner, desc)),
                            shape,
                        )
                    }
                    (None, Some(k)) => (Ty::Ref(k), shape),
                    (None, None) => (Ty::String, shape),
                }
            }
            Kind::Integer => (
                Ty::Integer,
                ShapeIr::Integer(f64_of(node, "minimum"), f64_of(node, "maximum")),
            ),
            Kind::Number => (
                Ty::Number,
                ShapeIr::Number(f64_of(node, "minimum"), f64_of(node, "maximum")),
            ),
            Kind::Boolean => (Ty::Boolean, ShapeIr::Boolean),
            Kind::Array => {
                let (ty, item) = match node.get("items") {
                    Some(items @ Json::Object(_)) => {
                        self.analyze(items, &format!("{loc}/items"), hint, owner, depth + 1)
                    }
                    _ => (Ty::Json, ShapeIr::Any),
                };
                let shape = ShapeIr::List {
                    item: Box::new(item),
                    min_items: u64_of(node, "minItems"),
                    max_items: u64_of(node, "maxItems"),
                };
                (Ty::List(Box::new(ty)), shape)
            }
            Kind::Object if has_properties(node) => {
                let idx = self.struct_for(loc, node, hint, owner);
                (Ty::Struct(idx), ShapeIr::Object(idx))
            }
            Kind::Object => match map_values(node, loc) {
                Some(Ok((vloc, values))) => {
                    let (ty, shape) = self.analyze(values, &vloc, hint, owner, depth + 1);
                    (Ty::Map(Box::new(ty)), ShapeIr::Map(Box::new(shape)))
                }
                Some(Err(())) => (
                    Ty::Map(Box::new(Ty::Json)),
                    ShapeIr::Map(Box::new(ShapeIr::Any)),
                ),
                None => (Ty::Json, ShapeIr::Any),
            },
            Kind::Any => (Ty::Json, ShapeIr::Any),
        }
    }

    /// Boxes every direct struct-in-struct field inside a strongly connected component of the
    /// containment graph, so recursive definitions get a finite size. Fields reached through a
    /// `Vec` or map already have indirection and stay unboxed.
    fn mark_boxes(&mut self) {
        let edges: Vec<Vec<usize>> = self
            .structs
            .iter()
            .map(|s| {
                s.fields
                    .iter()
                    .filter_map(|f| match f.ty {
                        Ty::Struct(j) => Some(j),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let comp = tarjan(&edges);
        for s in 0..self.structs.len() {
            for f in &mut self.structs[s].fields {
                if let Ty::Struct(j) = f.ty {
                    f.boxed = comp[s] == comp[j];
                }
            }
        }
    }

    /// One method per readable, scalar (or list-of-scalar) attribute.
    fn attr_methods(&self) -> Vec<AttrMethod> {
        let mut names = Namespace::with_reserved(&[
            "reference",
            "logical_id",
            "resource_ref",
            "from_ref",
            "type_name",
            "get_att",
            "clone",
            "fmt",
            "eq",
            "ne",
            "hash",
            "deref",
            "into",
            "from",
            "to_owned",
        ]);
        let mut out = Vec::new();
        for path in read_only_paths(self.root) {
            if path.iter().any(|s| s == "*" || s.is_empty()) {
                continue;
            }
            let node = self.attr_node(&path);
            let ty = match node {
                None => Some(Ty::String),
                Some(n) => scalar_ty(self.root, n),
            };
            let Some(ty) = ty else { continue };
            let base = path
                .iter()
                .map(|s| snake_ident(s).trim_end_matches('_').to_owned())
                .collect::<Vec<_>>()
                .join("_");
            let base = crate::names::escape_keyword(base);
            let method = if names.contains(&base) {
                names.take(&format!("{base}_attr"), "_")
            } else {
                names.take(&base, "_")
            };
            let attribute = path.join(".");
            let desc = node.and_then(|n| {
                n.get("description")
                    .or_else(|| deref(self.root, n).get("description"))
                    .and_then(Json::as_str)
            });
            let doc = match desc.and_then(|d| doc_text(d, DOC_SENTENCES)) {
                Some(d) => format!("`Fn::GetAtt` {}: {d}", code(&attribute)),
                None => format!("`Fn::GetAtt` {}.", code(&attribute)),
            };
            out.push(AttrMethod {
                method,
                attribute,
                ty,
                doc,
            });
        }
        out
    }

    /// The schema node of a read-only path, when the schema defines it.
    fn attr_node(&self, path: &[String]) -> Option<&'a Json> {
        let mut node = self.root;
        for s in path {
            node = deref(self.root, node).get("properties")?.get(s)?;
        }
        Some(node)
    }
}

/// The type of a GetAtt value: scalars and lists of scalars; `None` for objects and unions.
fn scalar_ty(root: &Json, node: &Json) -> Option<Ty> {
    let node = deref(root, node);
    match kind(node) {
        Kind::String => Some(crate::refs::kind_of(node).map_or(Ty::String, Ty::Ref)),
        Kind::Integer => Some(Ty::Integer),
        Kind::Number => Some(Ty::Number),
        Kind::Boolean => Some(Ty::Boolean),
        Kind::Array => {
            let item = node.get("items").filter(|i| i.is_object())?;
            match scalar_ty(root, item)? {
                Ty::List(_) => None,
                t => Some(Ty::List(Box::new(t))),
            }
        }
        Kind::Object => None,
        Kind::Any if is_blank(node) => Some(Ty::String),
        Kind::Any => None,
    }
}

/// Strongly connected components (Tarjan); returns a component id per node.
fn tarjan(edges: &[Vec<usize>]) -> Vec<usize> {
    struct St<'e> {
        edges: &'e [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        comp: Vec<usize>,
        next: usize,
        ncomp: usize,
    }
    fn visit(st: &mut St<'_>, v: usize) {
        st.index[v] = Some(st.next);
        st.low[v] = st.next;
        st.next += 1;
        st.stack.push(v);
        st.on[v] = true;
        for &w in &st.edges[v] {
            match st.index[w] {
                None => {
                    visit(st, w);
                    st.low[v] = st.low[v].min(st.low[w]);
                }
                Some(iw) if st.on[w] => st.low[v] = st.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(st.low[v]) == st.index[v] {
            while let Some(w) = st.stack.pop() {
                st.on[w] = false;
                st.comp[w] = st.ncomp;
                if w == v {
                    break;
                }
            }
            st.ncomp += 1;
        }
    }
    let n = edges.len();
    let mut st = St {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        comp: vec![0; n],
        next: 0,
        ncomp: 0,
    };
    for v in 0..n {
        if st.index[v].is_none() {
            visit(&mut st, v);
        }
    }
    st.comp
}

/// Sorted, de-duplicated service keys would collide if two vendors shared a service name; this
/// helper is used by the layout to detect that.
pub fn service_key(vendor: &str, service: &str, clashing: &BTreeSet<String>) -> String {
    let s = service.to_lowercase();
    if clashing.contains(&s) && vendor != "AWS" {
        format!("{}_{s}", vendor.to_lowercase())
    } else {
        s
    }
}
