//! Rust source text for one resource type's module (unformatted; the layout pipes it through
//! rustfmt).

use std::fmt::Write as _;

use crate::docs::code;
use crate::model::{AttrMethod, EnumItem, Field, ShapeIr, StructItem, TagKind, Ty, TypeModel};

/// Appends formatted text to a `String` (writing to a `String` cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

struct Ctx<'m> {
    m: &'m TypeModel,
    uses_json: bool,
    uses_map: bool,
}

impl Ctx<'_> {
    /// The `T` of `Value<T>`.
    fn inner(&mut self, ty: &Ty) -> String {
        match ty {
            Ty::String => "String".into(),
            Ty::Integer => "i64".into(),
            Ty::Number => "f64".into(),
            Ty::Boolean => "bool".into(),
            Ty::Json => {
                self.uses_json = true;
                "Json".into()
            }
            Ty::List(t) => format!("Vec<Value<{}>>", self.inner(t)),
            Ty::Map(t) => {
                self.uses_map = true;
                format!("IndexMap<String, Value<{}>>", self.inner(t))
            }
            Ty::Struct(i) => self.m.structs[*i].name.clone(),
            Ty::Enum(i) => self.m.enums[*i].name.clone(),
            Ty::Ref(k) => format!("cfn_core::refs::{k}"),
        }
    }
}

/// The items of one resource type's module (its rustdoc is `m.doc`, written by the caller on
/// the module declaration: the text is `include!`d, where inner attributes are not allowed).
pub fn type_module(m: &TypeModel) -> String {
    let mut cx = Ctx {
        m,
        uses_json: false,
        uses_map: false,
    };
    let mut body = String::new();
    for (i, s) in m.structs.iter().enumerate() {
        emit_struct(&mut cx, &mut body, s, i == m.root);
    }
    for e in &m.enums {
        emit_enum(&mut body, e);
    }
    emit_handle(&mut cx, &mut body);
    emit_schema(&mut body, m);

    let mut out = String::new();
    out.push_str("use cfn_core::Value;\n");
    if cx.uses_json {
        out.push_str("use cfn_core::Json;\n");
    }
    if cx.uses_map {
        out.push_str("use indexmap::IndexMap;\n");
    }
    out.push('\n');
    out.push_str(&body);
    out
}

fn field_type(cx: &mut Ctx<'_>, f: &Field) -> String {
    let v = format!("Value<{}>", cx.inner(&f.ty));
    let v = if f.boxed { format!("Box<{v}>") } else { v };
    if f.required {
        v
    } else {
        format!("Option<{v}>")
    }
}

fn emit_struct(cx: &mut Ctx<'_>, out: &mut String, s: &StructItem, is_root: bool) {
    let name = &s.name;
    let all_optional = s.fields.iter().all(|f| !f.required);
    w!(out, "/// {}\n", s.doc);
    if all_optional {
        out.push_str("#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]\n");
    } else {
        out.push_str("#[derive(Clone, Debug, PartialEq, serde::Serialize)]\n");
    }
    w!(out, "pub struct {name} {{\n");
    for f in &s.fields {
        let ty = field_type(cx, f);
        w!(out, "/// {}\n", f.doc);
        if f.required {
            w!(out, "#[serde(rename = {:?})]\n", f.cfn_name);
        } else {
            w!(
                out,
                "#[serde(rename = {:?}, skip_serializing_if = \"Option::is_none\")]\n",
                f.cfn_name
            );
        }
        w!(out, "pub {}: {ty},\n", f.rust_name);
    }
    if s.open_map {
        cx.uses_json = true;
        cx.uses_map = true;
        out.push_str(
            "/// Properties the schema does not list (a custom resource's own properties).\n",
        );
        out.push_str("#[serde(flatten)]\npub additional_properties: IndexMap<String, Json>,\n");
    }
    out.push_str("}\n\n");

    // Constructor (or builder) and setters.
    w!(out, "impl {name} {{\n");
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.required).collect();
    if required.is_empty() {
        w!(
            out,
            "/// An empty {} (every property is optional).\n",
            code(name)
        );
        out.push_str("pub fn new() -> Self { Self::default() }\n");
    } else {
        let names: Vec<String> = required.iter().map(|f| code(&f.cfn_name)).collect();
        w!(
            out,
            "/// Starts a {}: set its required {} by name, then call `build()`;\n\
             /// leaving one out does not compile.\n\
             pub fn builder() -> {name}Builder {{\n{name}Builder {{\n",
            code(name),
            names.join(", ")
        );
        for f in &required {
            w!(out, "{}: cfn_core::Missing,\n", f.rust_name);
        }
        out.push_str("}\n}\n");
    }
    for f in s.fields.iter().filter(|f| !f.required) {
        let inner = cx.inner(&f.ty);
        w!(out, "/// Sets {}.\n", code(&f.cfn_name));
        w!(
            out,
            "pub fn {}(mut self, v: impl Into<Value<{inner}>>) -> Self {{\n",
            f.rust_name
        );
        if f.boxed {
            w!(
                out,
                "self.{} = Some(Box::new(v.into()));\nself\n}}\n",
                f.rust_name
            );
        } else {
            w!(out, "self.{} = Some(v.into());\nself\n}}\n", f.rust_name);
        }
    }
    if s.open_map {
        out.push_str(
            "/// Adds a property the schema does not list (for a custom resource, its own input).\n\
             pub fn additional_property(mut self, name: impl Into<String>, v: impl Into<Json>) -> Self {\n\
             self.additional_properties.insert(name.into(), v.into());\nself\n}\n",
        );
    }
    out.push_str("}\n\n");
    w!(
        out,
        "impl From<{name}> for Value<{name}> {{\nfn from(v: {name}) -> Self {{\nValue::Literal(v)\n}}\n}}\n\n"
    );
    if !required.is_empty() {
        emit_builder(cx, out, s, &required);
    }

    if is_root {
        let m = cx.m;
        w!(
            out,
            "impl cfn_core::Resource for {name} {{\nconst TYPE_NAME: &'static str = {:?};\ntype Handle = {};\nfn schema() -> &'static cfn_core::TypeSchema {{\n&SCHEMA\n}}\n}}\n\n",
            m.type_name,
            m.handle
        );
    }

    // Metadata.
    w!(
        out,
        "static {}: [cfn_core::schema::PropSpec; {}] = [\n",
        s.props_static,
        s.fields.len()
    );
    for f in &s.fields {
        w!(
            out,
            "prop!({:?}, {}, {}),\n",
            f.cfn_name,
            f.required,
            shape_expr(cx.m, &f.shape)
        );
    }
    out.push_str("];\n\n");
}

/// The typestate builder of a struct with required properties: one type parameter per
/// required property, `cfn_core::Missing` until its setter replaces it with the value, and
/// `build()` only where every parameter holds a value. Optional properties are set on the
/// built struct with its ordinary setters.
fn emit_builder(cx: &mut Ctx<'_>, out: &mut String, s: &StructItem, required: &[&Field]) {
    let name = &s.name;
    let params: Vec<String> = (0..required.len()).map(|i| format!("R{i}")).collect();
    let value_ty: Vec<String> = required
        .iter()
        .map(|f| format!("Value<{}>", cx.inner(&f.ty)))
        .collect();
    let defaults: Vec<String> = params
        .iter()
        .map(|p| format!("{p} = cfn_core::Missing"))
        .collect();
    w!(
        out,
        "/// Builds a [`{name}`] from its required properties, each set by name (see\n\
         /// [`{name}::builder`]).\n#[must_use]\n#[derive(Clone, Debug)]\npub struct {name}Builder<{}> {{\n",
        defaults.join(", ")
    );
    for (f, p) in required.iter().zip(&params) {
        w!(out, "{}: {p},\n", f.rust_name);
    }
    out.push_str("}\n\n");
    for (i, f) in required.iter().enumerate() {
        let others: Vec<&String> = params
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p)
            .collect();
        let generics = others
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut before = params.clone();
        before[i] = "cfn_core::Missing".into();
        let mut after = params.clone();
        after[i] = value_ty[i].clone();
        w!(
            out,
            "impl<{generics}> {name}Builder<{}> {{\n/// Sets {} (required).\n\
             pub fn {}(self, v: impl Into<{}>) -> {name}Builder<{}> {{\n{name}Builder {{\n",
            before.join(", "),
            code(&f.cfn_name),
            f.rust_name,
            value_ty[i],
            after.join(", ")
        );
        for (j, g) in required.iter().enumerate() {
            if j == i {
                w!(out, "{}: v.into(),\n", g.rust_name);
            } else {
                w!(out, "{0}: self.{0},\n", g.rust_name);
            }
        }
        out.push_str("}\n}\n}\n\n");
    }
    let bounds: Vec<String> = params
        .iter()
        .zip(&value_ty)
        .map(|(p, t)| format!("{p}: cfn_core::Provided<{t}>"))
        .collect();
    w!(
        out,
        "impl<{}> {name}Builder<{}>\nwhere\n{},\n{{\n\
         /// The {} with every required property set and no optional one.\n\
         pub fn build(self) -> {name} {{\n{name} {{\n",
        params.join(", "),
        params.join(", "),
        bounds.join(",\n"),
        code(name)
    );
    for f in &s.fields {
        match (f.required, f.boxed) {
            (true, true) => w!(
                out,
                "{0}: Box::new(cfn_core::Provided::provided(self.{0})),\n",
                f.rust_name
            ),
            (true, false) => w!(
                out,
                "{0}: cfn_core::Provided::provided(self.{0}),\n",
                f.rust_name
            ),
            (false, _) => w!(out, "{}: None,\n", f.rust_name),
        }
    }
    if s.open_map {
        out.push_str("additional_properties: IndexMap::new(),\n");
    }
    out.push_str("}\n}\n}\n\n");
}

fn opt_u64(v: Option<u64>) -> String {
    v.map_or_else(|| "None".into(), |n| format!("Some({n})"))
}

fn opt_f64(v: Option<f64>) -> String {
    v.map_or_else(|| "None".into(), |n| format!("Some({n:?})"))
}

fn shape_expr(m: &TypeModel, s: &ShapeIr) -> String {
    match s {
        ShapeIr::String {
            allowed,
            pattern,
            min_length,
            max_length,
        } => {
            if allowed.is_empty()
                && pattern.is_none()
                && min_length.is_none()
                && max_length.is_none()
            {
                "string!()".into()
            } else {
                let allowed: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
                format!(
                    "string!(&[{}], {}, {}, {})",
                    allowed.join(", "),
                    pattern
                        .as_ref()
                        .map_or_else(|| "None".into(), |p| format!("Some({p:?})")),
                    opt_u64(*min_length),
                    opt_u64(*max_length)
                )
            }
        }
        ShapeIr::Integer(None, None) => "integer!()".into(),
        ShapeIr::Integer(a, b) => format!("integer!({}, {})", opt_f64(*a), opt_f64(*b)),
        ShapeIr::Number(None, None) => "number!()".into(),
        ShapeIr::Number(a, b) => format!("number!({}, {})", opt_f64(*a), opt_f64(*b)),
        ShapeIr::Boolean => "boolean!()".into(),
        ShapeIr::List {
            item,
            min_items,
            max_items,
        } => format!(
            "list!({}, {}, {})",
            shape_expr(m, item),
            opt_u64(*min_items),
            opt_u64(*max_items)
        ),
        ShapeIr::Map(v) => format!("map!({})", shape_expr(m, v)),
        ShapeIr::Object(i) => {
            let s = &m.structs[*i];
            format!("object!({}, {})", s.props_static, s.closed)
        }
        ShapeIr::Any => "any!()".into(),
    }
}

fn emit_enum(out: &mut String, e: &EnumItem) {
    let name = &e.name;
    w!(
        out,
        "/// {}\n#[derive(Clone, Debug, PartialEq, Eq, Hash)]\npub enum {name} {{\n",
        e.doc
    );
    for (v, var) in e.values.iter().zip(&e.variants) {
        w!(out, "/// {}.\n{var},\n", code(v));
    }
    out.push_str("/// A value this version of the schema does not list.\nOther(String),\n}\n\n");

    w!(
        out,
        "impl {name} {{\n/// The value as CloudFormation spells it.\npub fn as_str(&self) -> &str {{\nmatch self {{\n"
    );
    for (v, var) in e.values.iter().zip(&e.variants) {
        w!(out, "Self::{var} => {v:?},\n");
    }
    out.push_str("Self::Other(s) => s,\n}\n}\n}\n\n");

    w!(
        out,
        "impl cfn_core::value::StringEnum for {name} {{\nfn from_name(s: &str) -> Self {{\nmatch s {{\n"
    );
    for (v, var) in e.values.iter().zip(&e.variants) {
        w!(out, "{v:?} => Self::{var},\n");
    }
    out.push_str("_ => Self::Other(s.to_owned()),\n}\n}\nfn as_str(&self) -> &str {\nSelf::as_str(self)\n}\n}\n\n");

    w!(
        out,
        "impl serde::Serialize for {name} {{\nfn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {{\ns.serialize_str(self.as_str())\n}}\n}}\n\n"
    );
    w!(
        out,
        "impl From<{name}> for Value<{name}> {{\nfn from(v: {name}) -> Self {{\nValue::Literal(v)\n}}\n}}\n\n"
    );
}

fn emit_handle(cx: &mut Ctx<'_>, out: &mut String) {
    let m = cx.m;
    let h = &m.handle;
    w!(
        out,
        "/// A {} in a stack: its `Ref` and `Fn::GetAtt` values.\n#[derive(Clone, Debug, PartialEq, Eq, Hash)]\npub struct {h}(cfn_core::ResourceRef);\n\n",
        code(&m.type_name)
    );
    w!(
        out,
        "impl cfn_core::Handle for {h} {{\nfn from_ref(r: cfn_core::ResourceRef) -> Self {{\nSelf(r)\n}}\nfn resource_ref(&self) -> &cfn_core::ResourceRef {{\n&self.0\n}}\n}}\n\n"
    );
    w!(
        out,
        "impl std::ops::Deref for {h} {{\ntype Target = cfn_core::ResourceRef;\nfn deref(&self) -> &cfn_core::ResourceRef {{\n&self.0\n}}\n}}\n\n"
    );
    let ref_ty =
        ref_type(m).map_or_else(|| "String".to_owned(), |k| format!("cfn_core::refs::{k}"));
    w!(
        out,
        "impl {h} {{\n/// `Ref`: what CloudFormation returns for this type (usually its primary identifier).\npub fn reference(&self) -> Value<{ref_ty}> {{\nself.0.reference()\n}}\n"
    );
    for a in &m.attrs {
        emit_attr(cx, out, a);
    }
    out.push_str("}\n\n");
}

/// The typed-reference kind of `Ref`: that of the type's only primary identifier, when the
/// schema gives that property a known `format`.
fn ref_type(m: &TypeModel) -> Option<&'static str> {
    let [id] = &m.primary_identifier[..] else {
        return None;
    };
    let field = m
        .root_struct()
        .fields
        .iter()
        .find(|f| &f.cfn_name == id)
        .map(|f| &f.ty);
    let attr = m.attrs.iter().find(|a| &a.attribute == id).map(|a| &a.ty);
    match field.or(attr)? {
        Ty::Ref(k) => Some(k),
        _ => None,
    }
}

fn emit_attr(cx: &mut Ctx<'_>, out: &mut String, a: &AttrMethod) {
    let ty = cx.inner(&a.ty);
    w!(
        out,
        "/// {}\npub fn {}(&self) -> Value<{ty}> {{\nself.0.get_att({:?})\n}}\n",
        a.doc,
        a.method,
        a.attribute
    );
}

fn str_slice(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("&[{}]", items.join(", "))
}

fn emit_schema(out: &mut String, m: &TypeModel) {
    let root = m.root_struct();
    let tagging = match &m.tagging {
        None => "None".to_owned(),
        Some((p, k)) => format!(
            "Some(cfn_core::schema::Tagging {{ property: {p:?}, shape: cfn_core::schema::TagShape::{} }})",
            match k {
                TagKind::KeyValueList => "KeyValueList",
                TagKind::Map => "Map",
            }
        ),
    };
    w!(
        out,
        "/// Registry metadata of {}.\npub static SCHEMA: cfn_core::TypeSchema = cfn_core::TypeSchema {{\n\
         type_name: {:?},\nattributes: {},\ncreate_only: {},\nconditional_create_only: {},\n\
         primary_identifier: {},\nwrite_only: {},\ntagging: {tagging},\nproperties: &{},\nclosed: {},\n}};\n",
        code(&m.type_name),
        m.type_name,
        str_slice(&m.attributes),
        str_slice(&m.create_only),
        str_slice(&m.conditional_create_only),
        str_slice(&m.primary_identifier),
        str_slice(&m.write_only),
        root.props_static,
        root.closed,
    );
}
