//! TOML into the `Node` tree, through the `toml` crate's span-keeping document parser; byte
//! spans become lines and columns. Table members keep the order they were written in.

use super::{LineIndex, MAX_DEPTH, Member, Node, NodeValue, Position, SyntaxError};
use ::toml::Spanned;
use ::toml::de::{DeTable, DeValue};

pub(super) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let index = LineIndex::new(text);
    let table = DeTable::parse(text).map_err(|error| {
        let at = error
            .span()
            .map(|span| index.position(span.start))
            .unwrap_or(Position::START);
        SyntaxError::new(at, error.message().trim().to_string())
    })?;
    let at = index.position(table.span().start);
    Ok(Node::new(at, object(table.get_ref(), &index, 0)?))
}

fn object(
    table: &DeTable<'_>,
    index: &LineIndex<'_>,
    depth: usize,
) -> Result<NodeValue, SyntaxError> {
    let mut members: Vec<(usize, Member)> = Vec::new();
    for (key, value) in table.iter() {
        members.push((
            key.span().start,
            Member {
                key: key.get_ref().to_string(),
                key_at: index.position(key.span().start),
                value: node(value, index, depth + 1)?,
            },
        ));
    }
    members.sort_by_key(|(start, _)| *start);
    Ok(NodeValue::Object(
        members.into_iter().map(|(_, m)| m).collect(),
    ))
}

fn node(
    value: &Spanned<DeValue<'_>>,
    index: &LineIndex<'_>,
    depth: usize,
) -> Result<Node, SyntaxError> {
    let at = index.position(value.span().start);
    if depth > MAX_DEPTH {
        return Err(SyntaxError::new(
            at,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let value = match value.get_ref() {
        DeValue::String(text) => NodeValue::String(text.to_string()),
        DeValue::Integer(number) => NodeValue::Number(number.to_string()),
        DeValue::Float(number) => NodeValue::Number(number.to_string()),
        DeValue::Boolean(value) => NodeValue::Bool(*value),
        DeValue::Datetime(datetime) => NodeValue::String(datetime.to_string()),
        DeValue::Array(items) => NodeValue::Array(
            items
                .iter()
                .map(|item| node(item, index, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table) => object(table, index, depth)?,
    };
    Ok(Node::new(at, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn keeps_positions_of_header_keys_and_values() {
        let text = "model = \"o3\"\n\n[mcp_servers.github]\ncommand = \"docker\"\nargs = [\"run\", \"-i\"]\nenv = { TOKEN = \"x\" }\n\n[mcp_servers.fetch]\ncommand = \"uvx\"\n";
        let root = parse(text).unwrap();
        let servers = root.get("mcp_servers").unwrap().as_object().unwrap();
        assert_eq!(servers[0].key, "github");
        assert_eq!(servers[0].key_at, at(3, 14));
        assert_eq!(servers[1].key, "fetch");
        assert_eq!(servers[1].key_at, at(8, 14));
        let github = &servers[0].value;
        assert_eq!(github.get("command").unwrap().at, at(4, 11));
        let args = github.get("args").unwrap().as_array().unwrap();
        assert_eq!(args[1].at, at(5, 16));
        assert_eq!(github.path(&["env", "TOKEN"]).unwrap().at, at(6, 17));
    }

    #[test]
    fn errors_carry_a_position() {
        let error = parse("a = 1\nb = \n").unwrap_err();
        assert_eq!(error.at.line, 2, "{error}");
        assert!(parse("[a]\nx = 1\n[a]\nx = 2\n").is_err());
    }
}
