exports.other = async () => "main is missing";
