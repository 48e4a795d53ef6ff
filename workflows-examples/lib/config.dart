import 'package:http/http.dart' as http;
import 'package:yaml/yaml.dart';

/// Where the running app finds its configuration, relative to the page: the deploy puts
/// `config/<environment>.yaml` of the repository there (see k8s/deployment.yaml), so the same
/// image runs in every environment and a rollback brings back the configuration it shipped with.
const configPath = 'config/app.yaml';

/// The per-environment settings of the app: the API it talks to, its log level and its feature
/// flags. Feature flags are plain keys under `features:`; a flag that is not there is off.
class AppConfig {
  const AppConfig({
    required this.environment,
    required this.apiUrl,
    required this.logLevel,
    this.features = const {},
  });

  final String environment;
  final Uri apiUrl;
  final String logLevel;
  final Map<String, bool> features;

  static const logLevels = ['debug', 'info', 'warning', 'error'];

  bool isEnabled(String flag) => features[flag] ?? false;

  /// Parses the YAML of a config file; throws a [FormatException] naming the key that is wrong.
  factory AppConfig.fromYaml(String text) {
    final doc = loadYaml(text);
    if (doc is! YamlMap) {
      throw const FormatException('config: expected a mapping of settings');
    }
    String requiredText(String key) {
      final value = doc[key];
      if (value is! String || value.isEmpty) {
        throw FormatException('config: "$key" must be non-empty text');
      }
      return value;
    }

    final apiUrl = Uri.tryParse(requiredText('api-url'));
    if (apiUrl == null || !apiUrl.isScheme('https')) {
      throw const FormatException('config: "api-url" must be an https URL');
    }
    final logLevel = requiredText('log-level');
    if (!logLevels.contains(logLevel)) {
      throw FormatException('config: "log-level" must be one of ${logLevels.join(', ')}');
    }
    final flags = doc['features'] ?? YamlMap();
    if (flags is! YamlMap) {
      throw const FormatException('config: "features" must be a mapping of flag: true or false');
    }
    final features = <String, bool>{};
    for (final entry in flags.entries) {
      if (entry.value is! bool) {
        throw FormatException('config: feature "${entry.key}" must be true or false');
      }
      features[entry.key.toString()] = entry.value as bool;
    }
    return AppConfig(
      environment: requiredText('environment'),
      apiUrl: apiUrl,
      logLevel: logLevel,
      features: Map.unmodifiable(features),
    );
  }

  /// Reads the config the deploy mounted beside the app. A missing or broken file is an error,
  /// never a silent default: an app talking to the wrong API is worse than one that says so.
  static Future<AppConfig> load({http.Client? client, Uri? page}) async {
    final uri = (page ?? Uri.base).resolve(configPath);
    final httpClient = client ?? http.Client();
    try {
      final response = await httpClient.get(uri);
      if (response.statusCode != 200) {
        throw StateError('config: GET $uri answered ${response.statusCode}');
      }
      return AppConfig.fromYaml(response.body);
    } finally {
      if (client == null) httpClient.close();
    }
  }
}
