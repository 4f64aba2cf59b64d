def fn(event, context):
    return {"where": "pkg.sub.mod"}
