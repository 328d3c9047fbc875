// Everything `azd up` provisions: one resource group holding the chat API (Flex Consumption),
// the chat page (Static Web Apps), Azure OpenAI, optional Azure AI Search, storage, monitoring,
// the app's managed identity and its role assignments. Nothing holds or hands out a key.
targetScope = 'subscription'

// --- Environment -------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds unique resource names.')
param environmentName string

@minLength(1)
@description('Region for the resources; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group name; empty for rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the deploying user or service principal, granted what `make ingest` and `make run` against Azure need. azd fills it in.')
param principalId string = ''

// azd sets AZURE_PRINCIPAL_TYPE itself from the signed-in account (User, or ServicePrincipal in a
// pipeline). A group cannot sign in, so it is never principalId.
@description('Kind of principal principalId is: User locally, ServicePrincipal in a pipeline. azd fills it in.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

// --- Chat page ---------------------------------------------------------------------------------

@description('Region of the Static Web App; the service runs in a few regions only.')
@allowed([
  'centralus'
  'eastasia'
  'eastus2'
  'westeurope'
  'westus2'
])
param staticWebAppLocation string = 'eastus2'

@description('Origins besides the Static Web App allowed to call the API from a browser, comma-separated (for example a custom domain).')
param extraAllowedOrigins string = ''

// --- API (Flex Consumption) --------------------------------------------------------------------

@description('CHAT_STREAMING: true streams answers line by line; false buffers each answer, for proxies that cannot stream.')
param chatStreaming bool = true

@description('CHAT_RETRIEVAL: auto uses Azure AI Search when it is deployed, else no retrieval.')
@allowed([
  'auto'
  'azure'
  'local'
  'off'
])
param chatRetrieval string = 'auto'

@description('CHAT_KEEP_QUESTIONS: true keeps the text of declined and rated-down questions for make report, 30 days (personal data: docs/report.md).')
param keepQuestions bool = false

// 3.13: requirements.txt resolves azure-functions 2.x and pins the Functions Python runtime
// (azure-functions-runtime) for it, the runtime the tests run the app in. 3.12 still works (it
// takes azure-functions 1.x from the same lock) but needs PYTHON_ENABLE_INIT_INDEXING. 3.14 is
// not offered until the tests run on it (docs/deploy.md).
@description('Python version of the Functions runtime.')
@allowed([
  '3.13'
  '3.12'
])
param pythonVersion string = '3.13'

// The platform accepts 1 to 1000 (Azure Functions docs, event-driven scaling, "Limit scale-out";
// checked 2026-11-30). A low ceiling caps what a traffic spike can cost.
@description('Most instances the API scales out to (Flex Consumption: 1 to 1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance in MB; billing is memory x execution time.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Open streams one instance carries before Flex Consumption adds another. The platform default for
// Python is 1, which would start one instance per open chat stream. The handlers are async and an
// open stream mostly waits on the model, so one instance carries hundreds: `make bench` measured
// one process on one core adding 31 ms to the first line and 8 ms to the chunk gap (p99) at 500
// streams, and no errors at 1,000. 200 leaves room for a smaller share of a core and for longer
// prompts. Tune here, in one place.
@description('HTTP perInstanceConcurrency: concurrent requests (open chat streams) per instance.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 200

// --- Limits for the public endpoint (docs/deploy.md: what they cost, how to raise them) ----------

// The page is public and the API anonymous: these keep one client, or everyone together, from
// spending the model quota and the owner's money. 0 turns one off. Counted in a table on the
// storage account, so every instance enforces the same limits.
@description('CHAT_CLIENT_REQUESTS_PER_MINUTE: questions one client (address) may ask per minute.')
@minValue(0)
param clientRequestsPerMinute int = 10

@description('CHAT_CLIENT_TOKENS_PER_DAY: model tokens one client may use per UTC day (about 50 grounded answers).')
@minValue(0)
param clientTokensPerDay int = 200000

@description('CHAT_DAILY_TOKEN_BUDGET: model tokens the whole app may use per UTC day; then answers are refused with budget_exhausted until midnight UTC.')
@minValue(0)
param dailyTokenBudget int = 5000000

@description('CHAT_NETWORK_REQUESTS_PER_MINUTE: questions one network (IPv4 /24, IPv6 /48) may ask per minute.')
@minValue(0)
param networkRequestsPerMinute int = 60

@description('CHAT_NETWORK_TOKENS_PER_DAY: model tokens one network may use per UTC day.')
@minValue(0)
param networkTokensPerDay int = 1000000

@description('CHAT_NETWORK_BUDGET_SHARE: the largest share (0 to 1) of the daily budget one network may take.')
param networkBudgetShare string = '0.1'

// Row keys of the limits table are keyed hashes of clients' addresses, with this key. The
// preprovision hook generates it once into the azd environment (CHAT_LIMITS_KEY_SECRET) and every
// later provision passes the same one, so clients' daily counts survive a provision; empty, each
// instance of the app makes its own and instances do not share clients' counts.
@secure()
@description('CHAT_LIMITS_KEY_SECRET: the key the limits table\'s row keys are hashed with, generated once by the preprovision hook.')
param limitsKeySecret string = ''

@description('CHAT_FRONT_DOOR_ID: the id of the Azure Front Door profile in front of the API; empty: none. Set, the app accepts only that Front Door\'s traffic (docs/deploy.md).')
param frontDoorId string = ''

@description('CHAT_ANSWER_TIMEOUT_SECONDS: deadline of one answer, under the 230 s after which Azure\'s front end cuts a request.')
@minValue(10)
@maxValue(220)
param answerTimeoutSeconds int = 120

@description('Monthly cost budget of the resource group, in the billing currency; alerts at 80 % spent and when the forecast passes it.')
@minValue(1)
param budgetAmount int = 50

@description('E-mail address for the cost budget alerts; empty for no budget.')
param budgetAlertEmail string = ''

// Azure refuses to move a budget's start date, so it cannot follow the current month: the
// preprovision hook fixes it (the month of the first provision with a budget) in the azd
// environment as AZURE_BUDGET_START_DATE, and every later run passes the same date.
@description('First day of the cost budget (yyyy-MM-01), fixed once by the preprovision hook; empty without a budget.')
param budgetStartDate string = ''

// --- Azure OpenAI ------------------------------------------------------------------------------

@description('Region of the Azure OpenAI account; empty for the main region. The models must be offered there.')
param openAiLocation string = ''

@description('Deployment name of the chat model (AZURE_OPENAI_CHAT_DEPLOYMENT).')
param chatDeploymentName string = 'chat'

// No model is written here: a hard-coded model goes stale as Azure retires models (and closes them
// to new customers months before that). The preprovision hook (scripts/choose_models) picks one the
// region offers this subscription and sets AZURE_OPENAI_CHAT_MODEL; docs/deploy.md says how.
// Empty by default, not required: azd resolves the parameters before the hook runs, and would ask
// for a required one (or fail under --no-prompt) although the hook fills it a moment later.
@description('Chat model name (AZURE_OPENAI_CHAT_MODEL, set by the preprovision hook unless you set it). It must serve the Responses API.')
param chatModelName string = ''

@description('Chat model version; empty to let Azure assign the model\'s default version.')
param chatModelVersion string = ''

@description('Chat deployment SKU.')
@allowed([
  'Standard'
  'GlobalStandard'
  'DataZoneStandard'
])
param chatDeploymentSku string = 'GlobalStandard'

@description('Chat deployment capacity, in thousands of tokens per minute.')
@minValue(1)
param chatDeploymentCapacity int = 30

@description('Deployment name of the embedding model (AZURE_OPENAI_EMBEDDING_DEPLOYMENT).')
param embeddingDeploymentName string = 'embedding'

@description('Embedding model name (AZURE_OPENAI_EMBEDDING_MODEL, set by the preprovision hook unless you set it; empty by default as above).')
param embeddingModelName string = ''

@description('Embedding model version; empty to let Azure assign the model\'s default version.')
param embeddingModelVersion string = ''

@description('Embedding deployment SKU.')
@allowed([
  'Standard'
  'GlobalStandard'
  'DataZoneStandard'
])
param embeddingDeploymentSku string = 'GlobalStandard'

@description('Embedding deployment capacity, in thousands of tokens per minute.')
@minValue(1)
param embeddingDeploymentCapacity int = 30

// What Azure does when a deployed model version is superseded or retires. OnceCurrentVersionExpired:
// the deployment stays on the version it got (answers do not change under the app) and moves to the
// model's default version only when that one retires, so it never stops answering. The alternatives:
// OnceNewDefaultVersionAvailable follows every new default version at once; NoAutoUpgrade stops
// answering at retirement until someone redeploys.
@description('versionUpgradeOption of both model deployments.')
@allowed([
  'OnceCurrentVersionExpired'
  'OnceNewDefaultVersionAvailable'
  'NoAutoUpgrade'
])
param modelVersionUpgradeOption string = 'OnceCurrentVersionExpired'

// --- Azure AI Search (optional) ----------------------------------------------------------------

@description('Deploy Azure AI Search for retrieval. Off by default: Basic and above bill while idle.')
param useAzureSearch bool = false

@description('Search tier: free (one per subscription, no semantic ranker) or basic and above (semantic ranker, billed hourly).')
@allowed([
  'free'
  'basic'
  'standard'
])
param searchSkuName string = 'basic'

@description('Name of the search index the app queries and `make ingest` fills (AZURE_SEARCH_INDEX).')
param searchIndexName string = 'knowledge-base'

// --- Names -------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-api-${resourceToken}'
var searchServiceName = 'srch-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var extraOriginList = empty(extraAllowedOrigins) ? [] : split(extraAllowedOrigins, ',')
var extraOrigins = [for origin in extraOriginList: trim(origin)]
var limitsTableName = 'chatlimits'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

// --- Resources ---------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    limitsTableName: limitsTableName
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  scope: rg
  params: {
    name: 'oai-${resourceToken}'
    location: !empty(openAiLocation) ? openAiLocation : location
    tags: tags
    versionUpgradeOption: modelVersionUpgradeOption
    chatDeployment: {
      name: chatDeploymentName
      model: chatModelName
      version: chatModelVersion
      sku: chatDeploymentSku
      capacity: chatDeploymentCapacity
    }
    embeddingDeployment: {
      name: embeddingDeploymentName
      model: embeddingModelName
      version: embeddingModelVersion
      sku: embeddingDeploymentSku
      capacity: embeddingDeploymentCapacity
    }
  }
}

module search 'modules/search.bicep' = {
  name: 'search'
  scope: rg
  params: {
    enabled: useAzureSearch
    name: searchServiceName
    location: location
    tags: tags
    skuName: searchSkuName
  }
}

module web 'modules/staticwebapp.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: 'stapp-${resourceToken}'
    location: staticWebAppLocation
    tags: union(tags, {
      'azd-service-name': 'web'
    })
  }
}

// The page is served from the Static Web App's origin and calls the API on the function app's origin.
var allowedOrigins = concat([
  web.outputs.url
], extraOrigins)

// The application's settings, contract section 3. Keyless: AZURE_CLIENT_ID selects the managed identity.
var coreSettings = [
  {
    name: 'CHAT_STREAMING'
    value: chatStreaming ? 'true' : 'false'
  }
  {
    name: 'OPENAI_HOST'
    value: 'azure'
  }
  {
    name: 'AZURE_OPENAI_ENDPOINT'
    value: openAi.outputs.endpoint
  }
  {
    name: 'AZURE_OPENAI_CHAT_DEPLOYMENT'
    value: openAi.outputs.chatDeploymentName
  }
  // The model behind the deployment: tells the app whether it is a reasoning model.
  {
    name: 'AZURE_OPENAI_CHAT_MODEL'
    value: chatModelName
  }
  {
    name: 'AZURE_OPENAI_EMBEDDING_DEPLOYMENT'
    value: openAi.outputs.embeddingDeploymentName
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.outputs.clientId
  }
  {
    name: 'CHAT_RETRIEVAL'
    value: chatRetrieval
  }
  {
    name: 'CHAT_KEEP_QUESTIONS'
    value: keepQuestions ? 'true' : 'false'
  }
  {
    name: 'ALLOWED_ORIGINS'
    value: join(allowedOrigins, ',')
  }
]

// Set only with Azure AI Search, so that CHAT_RETRIEVAL=auto sees no search endpoint without it.
var searchSettings = useAzureSearch ? [
  {
    name: 'AZURE_SEARCH_ENDPOINT'
    value: search.outputs.endpoint
  }
  {
    name: 'AZURE_SEARCH_INDEX'
    value: searchIndexName
  }
  {
    // The Free tier has no semantic ranker; every other tier has its free plan.
    name: 'AZURE_SEARCH_SEMANTIC_RANKER'
    value: (searchSkuName == 'free') ? 'false' : 'true'
  }
] : []

// The limits, counted in the storage account's table by the app's identity. The in-flight cap
// per process matches the per-instance HTTP concurrency: a request beyond it gets 503 at once.
var limitSettings = [
  {
    name: 'CHAT_CLIENT_REQUESTS_PER_MINUTE'
    value: string(clientRequestsPerMinute)
  }
  {
    name: 'CHAT_CLIENT_TOKENS_PER_DAY'
    value: string(clientTokensPerDay)
  }
  {
    name: 'CHAT_DAILY_TOKEN_BUDGET'
    value: string(dailyTokenBudget)
  }
  {
    name: 'CHAT_MAX_CONCURRENT_ANSWERS'
    value: string(httpPerInstanceConcurrency)
  }
  {
    name: 'CHAT_ANSWER_TIMEOUT_SECONDS'
    value: string(answerTimeoutSeconds)
  }
  {
    name: 'CHAT_LIMITS_STORE'
    value: 'table'
  }
  {
    name: 'AZURE_STORAGE_TABLE_ENDPOINT'
    value: storage.outputs.tableEndpoint
  }
  {
    name: 'CHAT_LIMITS_TABLE'
    value: storage.outputs.limitsTableName
  }
  {
    // Set by App Service's front end to the caller's address (behind Front Door, by Front Door
    // to the address of the connection it accepted); a client cannot forge either.
    name: 'CHAT_CLIENT_ADDRESS_HEADER'
    value: empty(frontDoorId) ? 'client-ip' : 'x-azure-socketip'
  }
  {
    name: 'CHAT_NETWORK_REQUESTS_PER_MINUTE'
    value: string(networkRequestsPerMinute)
  }
  {
    name: 'CHAT_NETWORK_TOKENS_PER_DAY'
    value: string(networkTokensPerDay)
  }
  {
    name: 'CHAT_NETWORK_BUDGET_SHARE'
    value: networkBudgetShare
  }
  {
    name: 'CHAT_LIMITS_KEY_SECRET'
    value: limitsKeySecret
  }
  {
    name: 'CHAT_FRONT_DOOR_ID'
    value: frontDoorId
  }
  {
    // The Functions host buffers a classic (CHAT_STREAMING=false) function's body up to this
    // before the app sees it: the app's own limit (CHAT_MAX_BODY_BYTES' default), not 100 MB.
    name: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT'
    value: string(maxBodyBytes)
  }
]

// The app's request body limit (chat_api/settings.py, Limits.max_body_bytes).
var maxBodyBytes = 262144

module api 'modules/functionapp.bicep' = {
  name: 'api'
  scope: rg
  params: {
    planName: 'plan-${resourceToken}'
    name: functionAppName
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    pythonVersion: pythonVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    allowedOrigins: allowedOrigins
    appSettings: concat(coreSettings, searchSettings, limitSettings)
    frontDoorId: frontDoorId
  }
  // Roles first, so the app's first start can already reach storage and telemetry.
  dependsOn: [
    roles
  ]
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    hostContainerNames: storage.outputs.hostContainerNames
    limitsTableName: storage.outputs.limitsTableName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    openAiName: openAi.outputs.name
    searchEnabled: useAzureSearch
    // The name itself, never empty, even without search: an `existing` resource must not be
    // declared with an empty name. The dependency on the search module is then stated below.
    searchName: searchServiceName
  }
  dependsOn: [
    search
  ]
}

module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    openAiName: openAi.outputs.name
    functionAppName: api.outputs.name
    searchEnabled: useAzureSearch
    // As for the roles: the name itself, never empty, and the dependency stated below.
    searchName: searchServiceName
  }
  dependsOn: [
    search
  ]
}

module budget 'modules/budget.bicep' = if (!empty(budgetAlertEmail)) {
  name: 'budget'
  scope: rg
  params: {
    name: 'budget-${resourceToken}'
    amount: budgetAmount
    startDate: budgetStartDate
    contactEmails: [
      budgetAlertEmail
    ]
  }
}

// An alert when the app has used 80 % of its daily token budget (the app's own metric), mailed
// when an address is given.
module budgetUseAlert 'modules/limits-alert.bicep' = {
  name: 'limits-alert'
  scope: rg
  params: {
    name: 'alert-token-budget-${resourceToken}'
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    contactEmails: empty(budgetAlertEmail) ? [] : [
      budgetAlertEmail
    ]
  }
}

// --- Outputs: azd writes these into .azure/<env>/.env, for the hooks and for `make run` ---------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output OPENAI_HOST string = 'azure'
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_CHAT_DEPLOYMENT string = openAi.outputs.chatDeploymentName
output AZURE_OPENAI_CHAT_MODEL string = chatModelName
output AZURE_OPENAI_EMBEDDING_DEPLOYMENT string = openAi.outputs.embeddingDeploymentName
output AZURE_SEARCH_ENDPOINT string = search.outputs.endpoint
output AZURE_SEARCH_INDEX string = searchIndexName
// `make report` reads what visitors asked from the table the app writes to.
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output CHAT_LIMITS_TABLE string = storage.outputs.limitsTableName
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_STATIC_WEB_APP_NAME string = web.outputs.name
output API_BASE_URL string = api.outputs.url
output WEB_URL string = web.outputs.url
